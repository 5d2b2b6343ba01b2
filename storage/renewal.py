"""Renewal: the regency's decisions about the period after a cover end (the
newest recorded one counts, the older ones are its history); the followers
of people whose cover a new roster extended, told once; and the village
officers' digests of who was renewed and who was not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import String, bindparam, cast, func, literal, select
from sqlmodel import Session

from storage.chats import STANDING
from storage.db import PerDialect, inserts_for
from storage.officers import officer_of_chat
from storage.outbox import (
    FOLLOWING,
    FOLLOWS,
    RENEWAL,
    RENEWAL_DIGEST,
    follower_key,
    planned,
    planned_by_parameters,
    planning,
)
from storage.tables import CHATS, LINKS, OUTBOX, PARTICIPANTS, RENEWALS, SUBSCRIPTIONS

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


def _plan_renewals_statement(insert):
    """The consenting chats of the given people, told of their new cover end
    once: the key names the chat, the person and the end."""
    key = follower_key(RENEWAL, cast(PARTICIPANTS.c.cover_end, String))
    chosen = (
        select(
            key,
            literal(RENEWAL),
            SUBSCRIPTIONS.c.chat_pk,
            SUBSCRIPTIONS.c.participant_id,
            PARTICIPANTS.c.cover_end,
            *planned_by_parameters(),
        )
        .select_from(FOLLOWING)
        .where(FOLLOWS, SUBSCRIPTIONS.c.participant_id.in_(bindparam("people", expanding=True)))
    )
    return planning(insert, ["key", "kind", "chat_pk", "participant_id", "cover_end"], chosen)


PLAN_RENEWALS = PerDialect(_plan_renewals_statement)


def plan_renewals(session: Session, *, participant_ids: list[int], now: datetime, stale_at: datetime) -> int:
    """Tell the consenting chats of these people (their cover end just moved
    later) of the new period, in the drainer's daytime; how many are new."""
    if not participant_ids:
        return 0
    connection = session.connection()
    values = {"people": participant_ids, "due_at": now, "stale_at": stale_at, "now": now}
    return connection.execute(PLAN_RENEWALS[connection.dialect.name], values).rowcount


def plan_renewal_digests(session: Session, *, period_end: date, now: datetime, stale_at: datetime) -> int:
    """One digest for each linked village officer's chat about the period
    after `period_end`, worded when it goes; how many are new."""
    chosen = (
        select(
            literal(f"{RENEWAL_DIGEST}:") + cast(LINKS.c.chat_pk, String) + literal(f":{period_end.isoformat()}"),
            literal(RENEWAL_DIGEST),
            LINKS.c.chat_pk,
            literal(period_end, OUTBOX.c.cover_end.type),
            *planned(
                literal(now, OUTBOX.c.due_at.type),
                literal(stale_at, OUTBOX.c.stale_at.type),
                literal(now, OUTBOX.c.created_at.type),
            ),
        )
        .distinct()
        .join(CHATS, CHATS.c.id == LINKS.c.chat_pk)
        .where(STANDING, CHATS.c.active)
    )
    statement = planning(inserts_for(session), ["key", "kind", "chat_pk", "cover_end"], chosen)
    return session.connection().execute(statement).rowcount


@dataclass(frozen=True)
class RenewalDigest:
    village: str
    renewed: int  # residents whose cover now ends after the period
    new_end: date | None  # the latest new end among them
    not_renewed: list[str]  # names of the others, alphabetically


def renewal_digests(session: Session, *, rows: Iterable[tuple[int, int, date]]) -> dict[int, RenewalDigest]:
    """For (outbox id, officer chat, period end) rows, the village's renewal
    as it stands now; a chat no longer linked to an officer has none."""
    found = {}
    connection = session.connection()
    for outbox_id, chat_pk, period_end in rows:
        officer = officer_of_chat(session, chat_pk=chat_pk)
        if officer is None:
            continue
        village = PARTICIPANTS.c.village == officer.village, PARTICIPANTS.c.district == officer.district
        renewed, new_end = connection.execute(
            select(func.count(), func.max(PARTICIPANTS.c.cover_end)).where(
                *village, PARTICIPANTS.c.cover_end > period_end
            )
        ).one()
        others = connection.execute(
            select(PARTICIPANTS.c.name)
            .where(*village, PARTICIPANTS.c.cover_end <= period_end)
            .order_by(PARTICIPANTS.c.name)
        ).scalars()
        found[outbox_id] = RenewalDigest(officer.village, renewed, new_end, list(others))
    return found
