"""The regency's renewal decisions: what it decided about the period after
a cover end, kept with who recorded it and when (the newest one counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from storage.tables import RENEWALS

STATES = ("unknown", "planned", "confirmed", "not_renewed")
# The states in which a person is told how to go on alone (as a BPU participant).
GO_ALONE = ("unknown", "not_renewed")


@dataclass(frozen=True)
class Decision:
    """What comes after the cover period ending on `period_end`."""

    period_end: date
    state: str = "unknown"
    expected_start: date | None = None  # planned: the new period's first day
    note_id: str | None = None
    note_en: str | None = None
    decided_on: date | None = None
    set_by: str | None = None  # None: config.yaml's, nobody recorded one
    set_at: datetime | None = None

    def note(self, language: str) -> str | None:
        return (self.note_en or self.note_id) if language == "en" else self.note_id

    def covers(self, cover_end: date) -> bool:
        """Whether it decides about a cover ending then (a later end is a
        later period, not decided yet)."""
        return cover_end <= self.period_end


COLUMNS = [RENEWALS.c[name] for name in Decision.__dataclass_fields__]


def current(session: Session, *, default: Decision) -> Decision:
    """The newest recorded decision about `default.period_end`, or `default`."""
    row = (
        session.connection()
        .execute(select(*COLUMNS).where(RENEWALS.c.period_end == default.period_end).order_by(RENEWALS.c.id.desc()))
        .first()
    )
    return Decision(*row) if row else default


def history(session: Session, *, period_end: date) -> list[Decision]:
    statement = select(*COLUMNS).where(RENEWALS.c.period_end == period_end).order_by(RENEWALS.c.id.desc())
    return [Decision(*row) for row in session.connection().execute(statement)]


def record(session: Session, decision: Decision) -> None:
    if decision.state not in STATES:
        raise ValueError(f"unknown renewal state {decision.state!r}")
    session.connection().execute(RENEWALS.insert().values(**decision.__dict__))
