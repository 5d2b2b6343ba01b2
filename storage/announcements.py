"""Announcements: who a segment reaches, and planning one into the outbox in
a single INSERT ... SELECT, so it is planned for every chat or for none, and
each chat's row is keyed to be sent exactly once."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import String, and_, case, cast, func, literal, select
from sqlmodel import Session

from storage.outbox import ANNOUNCEMENT, FOLLOWING, FOLLOWS, PLANNED_COLUMNS, planned
from storage.tables import ANNOUNCEMENTS, CHATS, OUTBOX, PARTICIPANTS, SUBSCRIPTIONS

COVERS = ("active", "ended")


@dataclass(frozen=True)
class Segment:
    """Whose consenting chats hear it: every filter optional."""

    district: str | None = None
    village: str | None = None
    category: str | None = None
    cover: str | None = None  # active (covered today) or ended

    def as_json(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value}


def _reached(segment: Segment, *, districts: Collection[str] | None, today: date):
    """Consenting subscriptions of reachable chats about people in the segment."""
    conditions = [FOLLOWS]
    if districts is not None:
        conditions.append(PARTICIPANTS.c.district.in_(list(districts)))
    for column in ("district", "village", "category"):
        if value := getattr(segment, column):
            conditions.append(func.lower(PARTICIPANTS.c[column]) == value.lower())
    if segment.cover == "active":
        conditions += [PARTICIPANTS.c.cover_start <= today, PARTICIPANTS.c.cover_end >= today]
    elif segment.cover == "ended":
        conditions.append(PARTICIPANTS.c.cover_end < today)
    return FOLLOWING, and_(*conditions)


class Reach(NamedTuple):
    channel: str
    language: str
    recent: bool  # wrote within its channel's reply window (only where `since` names the channel)


def audience(
    session: Session,
    *,
    segment: Segment,
    districts: Collection[str] | None,
    today: date,
    since: Mapping[str, datetime],
) -> dict[Reach, int]:
    """How many chats it would reach, by channel, language and whether the
    chat wrote after `since` (channel -> moment; for reply-window channels)."""
    joined, where = _reached(segment, districts=districts, today=today)
    windows = [(and_(CHATS.c.channel == name, CHATS.c.last_inbound_at >= at), True) for name, at in since.items()]
    recent = case(*windows, else_=False) if windows else literal(False)
    grouped = (CHATS.c.channel, CHATS.c.language, *([recent] if windows else []))  # PostgreSQL groups by no constant
    statement = (
        select(CHATS.c.channel, CHATS.c.language, recent, func.count(func.distinct(SUBSCRIPTIONS.c.chat_pk)))
        .select_from(joined)
        .where(where)
        .group_by(*grouped)
    )
    counted = session.connection().execute(statement)
    return {Reach(channel, language, bool(wrote)): count for channel, language, wrote, count in counted}


def create(
    session: Session,
    *,
    text_id: str,
    text_en: str | None,
    segment: Segment,
    districts: Collection[str] | None,
    by: str,
    today: date,
    now: datetime,
    stale_at: datetime,
) -> tuple[int, int]:
    """Record an announcement and plan it for every chat of the segment, in
    the chat's language (Indonesian where no English was written); its id
    and how many chats. A chat that stops reminders before its turn is
    skipped when the drainer reaches it."""
    connection = session.connection()
    row = {"text_id": text_id, "text_en": text_en, "segment": segment.as_json(), "recipients": 0}
    announcement_id = connection.execute(
        ANNOUNCEMENTS.insert().values(**row, created_by=by[:64], created_at=now).returning(ANNOUNCEMENTS.c.id)
    ).scalar_one()
    joined, where = _reached(segment, districts=districts, today=today)
    body = literal(text_id)
    if text_en:
        body = case((CHATS.c.language == "en", literal(text_en)), else_=literal(text_id))
    chosen = (
        select(
            literal(f"{ANNOUNCEMENT}:{announcement_id}:") + cast(SUBSCRIPTIONS.c.chat_pk, String),
            literal(ANNOUNCEMENT),
            SUBSCRIPTIONS.c.chat_pk,
            func.min(SUBSCRIPTIONS.c.participant_id),  # consent is checked again, through it, when sending
            body,
            *planned(
                literal(now, OUTBOX.c.due_at.type),
                literal(stale_at, OUTBOX.c.stale_at.type),
                literal(now, OUTBOX.c.created_at.type),
            ),
        )
        .select_from(joined)
        .where(where)
        .group_by(SUBSCRIPTIONS.c.chat_pk, CHATS.c.language)
    )
    columns = ["key", "kind", "chat_pk", "participant_id", "body"]
    statement = OUTBOX.insert().from_select([*columns, *PLANNED_COLUMNS], chosen)
    # rowcount is kept for an INSERT ... SELECT only when asked for, on PostgreSQL.
    chats = connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    connection.execute(ANNOUNCEMENTS.update().where(ANNOUNCEMENTS.c.id == announcement_id).values(recipients=chats))
    return announcement_id, chats


@dataclass(frozen=True)
class Progress:
    id: int
    text_id: str
    segment: dict
    recipients: int
    created_by: str
    created_at: datetime
    states: dict[str, int]  # outbox state -> rows

    @property
    def done(self) -> int:
        return sum(count for state, count in self.states.items() if state in ("sent", "failed", "skipped"))


def progress(session: Session, *, limit: int = 50) -> list[Progress]:
    """The newest announcements and where their rows stand."""
    connection = session.connection()
    found = connection.execute(
        select(
            ANNOUNCEMENTS.c.id,
            ANNOUNCEMENTS.c.text_id,
            ANNOUNCEMENTS.c.segment,
            ANNOUNCEMENTS.c.recipients,
            ANNOUNCEMENTS.c.created_by,
            ANNOUNCEMENTS.c.created_at,
        )
        .order_by(ANNOUNCEMENTS.c.id.desc())
        .limit(limit)
    ).all()
    result = []
    for id_, text, segment, recipients, by, at in found:
        states = connection.execute(
            select(OUTBOX.c.state, func.count())
            .where(OUTBOX.c.kind == ANNOUNCEMENT, OUTBOX.c.key.like(f"{ANNOUNCEMENT}:{id_}:%"))
            .group_by(OUTBOX.c.state)
        ).all()
        result.append(Progress(id_, text, segment, recipients, by, at, dict(states)))
    return result
