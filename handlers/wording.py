"""How flows write dates and other values, in the chat's language."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from handlers.flow import Turn


def long_date(turn: Turn, day: date) -> str:
    """31 Desember 2026 / 31 December 2026."""
    return format_date(day, "d MMMM y", locale=turn.t.language)
