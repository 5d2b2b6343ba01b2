"""The roster: upserts from imports, lookups by keyed NIK hash, counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, select

from storage.models import Participant

# What a roster row sets; everything else (id, timestamps) is the database's.
ROSTER_FIELDS = (
    "nik_masked", "birth_hash", "name", "gender", "village", "district",
    "category", "kpj", "phone", "cover_start", "cover_end",
)  # fmt: skip


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


def upsert_participants(
    session: Session, rows: Sequence[dict[str, Any]], *, now: datetime
) -> UpsertCounts:
    """Insert new NIKs, update changed ones, leave identical ones untouched, so
    re-importing a file is a no-op and a new period moves only what moved."""
    columns = [getattr(Participant, name) for name in ROSTER_FIELDS]
    existing = {
        found.nik_hash: found
        for found in session.execute(
            select(Participant.id, Participant.nik_hash, *columns).where(
                Participant.nik_hash.in_([row["nik_hash"] for row in rows])
            )
        )
    }
    counts = UpsertCounts()
    inserts, updates = [], []
    for row in rows:
        old = existing.get(row["nik_hash"])
        if old is None:
            inserts.append({**row, "created_at": now, "updated_at": now})
        elif any(getattr(old, name) != row[name] for name in ROSTER_FIELDS):
            updates.append({**row, "id": old.id, "updated_at": now})
        else:
            counts.unchanged += 1
    if inserts:
        session.execute(Participant.__table__.insert(), inserts)
    if updates:
        session.execute(update(Participant), updates)
    counts.inserted, counts.updated = len(inserts), len(updates)
    return counts


def find_participant(session: Session, *, nik_hash: str) -> Participant | None:
    return session.exec(select(Participant).where(Participant.nik_hash == nik_hash)).first()


def count_participants(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Participant)).one()


def counts_by(session: Session, *columns: str) -> list[tuple]:
    """Participants per value of the given columns, e.g. ('district', 'category')."""
    keys = [getattr(Participant, name) for name in columns]
    statement = select(*keys, func.count()).group_by(*keys).order_by(*keys)
    return [tuple(row) for row in session.execute(statement)]
