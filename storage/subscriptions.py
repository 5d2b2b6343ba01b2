"""Consent to reminders, per chat and participant. Stopping switches consent
off without forgetting whom the chat follows, so "mulai" can switch it back."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlmodel import Session

from storage.chats import OpenChat
from storage.db import PerDialect
from storage.tables import CHATS, PARTICIPANTS, SUBSCRIPTIONS

SUBSCRIBE = PerDialect(
    lambda insert: insert(SUBSCRIPTIONS).on_conflict_do_update(
        index_elements=["chat_pk", "participant_id"], set_={"active": True}
    )
)


@dataclass(frozen=True)
class Followed:
    nik_masked: str  # a reminder chat may be anyone's (a son's for his father): no name
    cover_end: date
    active: bool


def subscribe(session: Session, *, chat: OpenChat, participant_id: int, now: datetime) -> None:
    connection = session.connection()
    row = {"chat_pk": chat.id, "participant_id": participant_id, "active": True, "created_at": now}
    connection.execute(SUBSCRIBE[connection.dialect.name], row)


def set_consent(session: Session, *, chat: OpenChat, active: bool) -> int:
    """Switch all of a chat's reminders off (berhenti) or on (mulai); how many."""
    result = session.connection().execute(
        update(SUBSCRIPTIONS)
        .where(SUBSCRIPTIONS.c.chat_pk == chat.id, SUBSCRIPTIONS.c.active != active)
        .values(active=active)
    )
    return result.rowcount


def followed(session: Session, *, chat: OpenChat) -> list[Followed]:
    statement = (
        select(PARTICIPANTS.c.nik_masked, PARTICIPANTS.c.cover_end, SUBSCRIPTIONS.c.active)
        .join(PARTICIPANTS, PARTICIPANTS.c.id == SUBSCRIPTIONS.c.participant_id)
        .where(SUBSCRIPTIONS.c.chat_pk == chat.id)
        .order_by(PARTICIPANTS.c.cover_end)
    )
    return [Followed(*row) for row in session.connection().execute(statement)]


def followers(session: Session, *, participant_id: int) -> list[tuple[str, bool]]:
    """The chats reminded about a person's cover: each one's channel, and
    whether its consent is on."""
    statement = (
        select(CHATS.c.channel, SUBSCRIPTIONS.c.active)
        .join(CHATS, CHATS.c.id == SUBSCRIPTIONS.c.chat_pk)
        .where(SUBSCRIPTIONS.c.participant_id == participant_id)
        .order_by(SUBSCRIPTIONS.c.id)
    )
    return [tuple(row) for row in session.connection().execute(statement)]


def consenting_by_district(session: Session, *, districts: Collection[str] | None) -> list[tuple[str, int]]:
    """Chats with consent on, per kecamatan of the people they follow."""
    statement = (
        select(PARTICIPANTS.c.district, func.count(func.distinct(SUBSCRIPTIONS.c.chat_pk)))
        .join(PARTICIPANTS, PARTICIPANTS.c.id == SUBSCRIPTIONS.c.participant_id)
        .where(SUBSCRIPTIONS.c.active.is_(True))
        .group_by(PARTICIPANTS.c.district)
        .order_by(PARTICIPANTS.c.district)
    )
    if districts is not None:
        statement = statement.where(PARTICIPANTS.c.district.in_(list(districts)))
    return [tuple(row) for row in session.connection().execute(statement)]


def consenting_chats(session: Session, *, channel: str) -> int:
    """Reachable chats on `channel` that consent to reminders about someone."""
    statement = (
        select(func.count(func.distinct(SUBSCRIPTIONS.c.chat_pk)))
        .join(CHATS, CHATS.c.id == SUBSCRIPTIONS.c.chat_pk)
        .where(SUBSCRIPTIONS.c.active.is_(True), CHATS.c.active.is_(True), CHATS.c.channel == channel)
    )
    return session.connection().execute(statement).scalar_one()
