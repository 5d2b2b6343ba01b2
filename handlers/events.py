"""What a step tells the application happened, besides what it says.

A step records an event on its Turn (`turn.emit(ReportFiled(...))`) instead
of acting on it; the engine applies every event in the same transaction as
the step, after the step has succeeded. So the flows know nothing of notices
(and later helpdesk threads or audit), and a step that fails emits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.media import Media


@dataclass(frozen=True)
class ReportFiled:
    """A new incident report, for the operators."""

    reference: str


@dataclass(frozen=True)
class ClaimUpdated:
    """A village officer added to a report's claim: ticks, files, notes."""

    reference: str
    officer: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class Subscribed:
    """A chat said yes to reminders (or turned them on again)."""

    chat_pk: int


@dataclass(frozen=True)
class FilesAdded:
    """Documents sent after a report was filed, by its reporter or by the
    village officer (named) of the person it is about."""

    reference: str
    officer: str | None
    files: tuple[Media, ...]


@dataclass(frozen=True)
class CheckFailed:
    """An identity check failed (the process watches their rate)."""

    at: datetime


@dataclass(frozen=True)
class NikLocked:
    """A NIK failed too often from any chats: it answers only its verified
    owner for a while. Told to the operators with no NIK, only its masked
    form and the village (None when the NIK is in no roster)."""

    nik_masked: str
    village: str | None
    district: str | None


Event = ReportFiled | ClaimUpdated | Subscribed | FilesAdded | CheckFailed | NikLocked


@dataclass(frozen=True)
class HelpRequested:
    """A person opened a helpdesk thread: the operators are told (that a
    thread waits, nothing of who or what)."""

    thread_id: int
