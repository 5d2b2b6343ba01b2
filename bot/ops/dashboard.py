"""The console's dashboard: the programme's figures over what an account may
see (its kecamatan, or the whole regency)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.ops.authority import Actor
from bot.ops.stats import Counts
from storage import incidents, outbox
from storage.attempts import checks_per_day
from storage.participants import counts_by
from storage.subscriptions import consenting_by_district

OVERDUE = timedelta(hours=48)  # an open report older than this is late
CHECK_DAYS = 14


@dataclass(frozen=True)
class Reach:
    stage: int
    planned: int  # waiting, or being sent now
    sent: int
    failed: int
    skipped: dict[str, int]  # why -> how many


@dataclass(frozen=True)
class Dashboard:
    participants_by_district: Counts
    consenting_by_district: Counts
    checks_per_day: list[tuple[date, int]]  # the last CHECK_DAYS local days, each present
    reports_by_kind: Counts
    reports_by_status: Counts
    reports_by_district: Counts
    overdue: int  # open reports filed more than OVERDUE ago
    reach: list[Reach]

    def sent_by_stage(self) -> list[tuple[int, int]]:
        return [(stage.stage, stage.sent) for stage in self.reach]

    def by_district(self) -> list[tuple[str, int, int, int]]:
        """Each kecamatan's participants, consenting chats and reports."""
        consenting, reported = dict(self.consenting_by_district), dict(self.reports_by_district)
        return [
            (district, people, consenting.get(district, 0), reported.get(district, 0))
            for district, people in self.participants_by_district
        ]


def dashboard(session: Session, *, actor: Actor, now: datetime, zone: ZoneInfo) -> Dashboard:
    scope = actor.districts
    today = now.astimezone(zone).date()
    first = today - timedelta(days=CHECK_DAYS - 1)
    offset = int(now.astimezone(zone).utcoffset().total_seconds() // 3600)
    checks = dict(
        checks_per_day(
            session, since=datetime.combine(first, datetime.min.time(), zone), utc_offset_hours=offset, districts=scope
        )
    )
    return Dashboard(
        participants_by_district=[tuple(row) for row in counts_by(session, "district", districts=scope)],
        consenting_by_district=consenting_by_district(session, districts=scope),
        checks_per_day=[(day, checks.get(day, 0)) for day in (first + timedelta(days=n) for n in range(CHECK_DAYS))],
        reports_by_kind=incidents.count_by(session, "kind", districts=scope),
        reports_by_status=incidents.count_by(session, "status", districts=scope),
        reports_by_district=incidents.count_by(session, "district", districts=scope),
        overdue=incidents.open_older_than(session, before=now - OVERDUE, districts=scope),
        reach=_reach(outbox.reach_by_stage(session, districts=scope)),
    )


def _reach(rows: list[tuple[int, str, str | None, int]]) -> list[Reach]:
    stages: dict[int, dict] = {}
    for stage, state, why, count in rows:
        figures = stages.setdefault(stage, {"planned": 0, "sent": 0, "failed": 0, "skipped": {}})
        if state == "skipped":
            figures["skipped"][why or "-"] = figures["skipped"].get(why or "-", 0) + count
        elif state in ("sent", "failed"):
            figures[state] += count
        else:  # planned, or claimed by a drainer right now
            figures["planned"] += count
    return [Reach(stage, **figures) for stage, figures in sorted(stages.items(), reverse=True)]
