"""When the operators are in: what the helpdesk tells a person who waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from babel.dates import format_time, get_day_names


@dataclass(frozen=True)
class OfficeHours:
    opens: time
    closes: time
    days: tuple[int, ...]  # Monday is 0

    @classmethod
    def of(cls, opens: str, closes: str, days: list[int]) -> OfficeHours:
        return cls(time.fromisoformat(opens), time.fromisoformat(closes), tuple(sorted(days)))

    def is_open(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def next_opening(self, local: datetime) -> datetime:
        """The next moment the office opens, from `local` (a zoned datetime) on."""
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            opening = datetime.combine(day, self.opens, local.tzinfo)
            if day.weekday() in self.days and opening > local:
                return opening
        raise ValueError("office hours name no day of the week")

    def describe(self, language: str) -> str:
        """'Senin–Jumat, 08.00–16.00' in the reader's language."""
        names = get_day_names("wide", locale=language)
        first, last = self.days[0], self.days[-1]
        contiguous = list(self.days) == list(range(first, last + 1))
        days = (
            f"{names[first]}–{names[last]}" if contiguous and first != last else ", ".join(names[d] for d in self.days)
        )
        hours = "–".join(
            format_time(moment, "HH.mm" if language == "id" else "HH:mm", locale=language)
            for moment in (self.opens, self.closes)
        )
        return f"{days}, {hours}"
