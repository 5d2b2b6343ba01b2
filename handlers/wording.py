"""How flows write dates and other values, in the chat's language."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from babel.dates import format_date

from handlers.texts import Texts

if TYPE_CHECKING:  # the flows import this module
    from handlers.flow import Turn


def written_date(t: Texts, day: date) -> str:
    """31 Desember 2026 / 31 December 2026."""
    return format_date(day, "d MMMM y", locale=t.language)


def long_date(turn: Turn, day: date) -> str:
    return written_date(turn.t, day)
