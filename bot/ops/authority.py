"""Who acts, and what they may do: a role, and optionally some districts
(kecamatan) outside which they see nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storage.errors import PlainError

Role = Literal["viewer", "operator", "admin"]
# What each role may do besides reading, which every role may.
MAY = {"viewer": frozenset(), "operator": frozenset({"change"}), "admin": frozenset({"change", "manage"})}


class OperationError(PlainError):
    """An operation that cannot be done as asked; the message is for the operator."""


class NotFound(OperationError):
    pass


class Forbidden(OperationError):
    pass


class Invalid(OperationError):
    pass


@dataclass(frozen=True)
class Actor:
    name: str  # as recorded with what they do: cli:ani, telegram:budi ...
    role: Role
    districts: frozenset[str] | None = None  # None: the whole regency

    def require(self, action: Literal["change", "manage"]) -> None:
        if action not in MAY[self.role]:
            raise Forbidden(f"{self.name} ({self.role}) may not {action} this")

    def sees(self, district: str | None) -> bool:
        """A report or person in `district` (None: outside the roster) is theirs to see."""
        return self.districts is None or district in self.districts
