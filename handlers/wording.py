"""How Payung writes dates and counts of days in a reader's language: one
wording for the chats, the reminders and the operators' notices.

Each is cached by language and value: a roster shares its few cover dates,
so a day's answers and a reminder stage for 26,775 people write the same
handful of dates and counts over and over (Babel takes 7-10 µs each)."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from babel.dates import format_date
from babel.units import format_unit

from handlers.texts import Texts

if TYPE_CHECKING:  # the flows import this module
    from handlers.flow import Turn


def written_date(t: Texts, day: date) -> str:
    """31 Desember 2026 / 31 December 2026."""
    return _written_date(t.language, day)


def written_days(t: Texts, count: int) -> str:
    """26 hari / 26 days."""
    return _written_days(t.language, count)


def long_date(turn: Turn, day: date) -> str:
    return written_date(turn.t, day)


@lru_cache(maxsize=4096)
def _written_date(language: str, day: date) -> str:
    return format_date(day, "d MMMM y", locale=language)


@lru_cache(maxsize=4096)
def _written_days(language: str, count: int) -> str:
    return format_unit(count, "duration-day", locale=language)
