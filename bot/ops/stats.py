"""The programme in figures: participants and reports, for `stats` and the
console's dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.ops.authority import Actor
from storage import incidents
from storage.imports import Unfinished, unfinished_import
from storage.participants import counts_by

Counts = list[tuple[str, int]]


@dataclass(frozen=True)
class Stats:
    unfinished_import: Unfinished | None  # the latest roster import never finished: a mixed roster
    participants_by_category: Counts
    participants_by_district: Counts
    reports_by_kind: Counts
    reports_by_status: Counts
    reports_by_district: Counts


def stats(session: Session, *, actor: Actor) -> Stats:
    """Counts over what the actor may see (their districts, or all)."""
    scope = actor.districts
    return Stats(
        unfinished_import=unfinished_import(session),
        participants_by_category=counts_by(session, "category", districts=scope),
        participants_by_district=counts_by(session, "district", districts=scope),
        reports_by_kind=incidents.count_by(session, "kind", districts=scope),
        reports_by_status=incidents.count_by(session, "status", districts=scope),
        reports_by_district=incidents.count_by(session, "district", districts=scope),
    )
