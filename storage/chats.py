"""Chats and the conversation state that hangs off them.

These run on every inbound message, so they are plain Core statements on the
session's connection: the ORM's identity map and flush bookkeeping cost more
than the SQL itself here and buy nothing for rows read once and written once.
The ones every message runs skip Core's execution too (storage/prepared.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    bindparam,
    delete,
    exists,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlmodel import Session

from storage.db import PerDialect, writes_inside_with
from storage.helpdesk import held_for
from storage.prepared import Prepared
from storage.processed import claim_message
from storage.tables import CHATS, LINKS, PROCESSED, SESSIONS

# Built once (a statement built per call paid SQLAlchemy's construction and
# hashing, most of a message's cost) and prepared: every message runs it.
TOUCH_CHAT = Prepared(
    update(CHATS)
    .where(CHATS.c.channel == bindparam("p_channel"), CHATS.c.chat_id == bindparam("p_chat_id"))
    .values(last_inbound_at=bindparam("p_now"), active=True)
    .returning(CHATS.c.id, CHATS.c.language)
)
NEW_CHAT = insert(CHATS).returning(CHATS.c.id)


# An officer link that no one has revoked.
STANDING = LINKS.c.revoked_at.is_(None)


def standing_link(chat_pk: ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
    """A chat's standing link to an officer."""
    return LINKS.c.chat_pk == chat_pk, STANDING


# Where the chat's conversation stands, and whether it has an officer link or
# helpdesk answers held to read: one statement, since on PostgreSQL each is a
# round trip and every message asks all three.
ARRIVED = Prepared(
    select(
        SESSIONS.c.flow,
        SESSIONS.c.step,
        SESSIONS.c.data,
        SESSIONS.c.choices,
        SESSIONS.c.expires_at,
        exists().where(*standing_link(CHATS.c.id)).label("linked"),
        exists().where(*held_for(CHATS.c.id)).label("answers_held"),
    )
    .select_from(CHATS.outerjoin(SESSIONS, SESSIONS.c.chat_pk == CHATS.c.id))
    .where(CHATS.c.id == bindparam("p_chat_pk"))
)
STATE_COLUMNS = ("flow", "step", "data", "choices", "expires_at", "updated_at")


def upsert_state(insert_) -> Insert:
    """A chat's state saved, its values named as its columns (chat_pk, flow, ...)."""
    statement = insert_(SESSIONS).values(
        {name: bindparam(name, type_=SESSIONS.c[name].type) for name in ("chat_pk", *STATE_COLUMNS)}
    )
    return statement.on_conflict_do_update(
        index_elements=[SESSIONS.c.chat_pk], set_={name: statement.excluded[name] for name in STATE_COLUMNS}
    )


SAVE_STATE = PerDialect(lambda insert_: Prepared(upsert_state(insert_)))
MARK_UNREACHABLE = (
    update(CHATS)
    .where(CHATS.c.channel == bindparam("p_channel"), CHATS.c.chat_id == bindparam("p_chat_id"))
    .values(active=False)
)
SET_LANGUAGE = update(CHATS).where(CHATS.c.id == bindparam("p_chat_pk")).values(language=bindparam("p_language"))


@dataclass
class OpenChat:
    """The chat a message belongs to, as a step sees it. Changing it goes
    through storage's functions (set_language, officers.link), never through
    attribute assignment."""

    id: int
    channel: str
    chat_id: str
    language: str
    linked: bool = False  # to an officer (storage/officers.py)
    answers_held: bool = False  # helpdesk answers waiting for it (storage/helpdesk.py)


@dataclass(frozen=True)
class SavedState:
    flow: str
    step: str
    data: dict[str, Any]
    choices: list[list[str]]
    expires_at: datetime


def open_chat(
    session: Session, *, channel: str, chat_id: str, language: str, now: datetime
) -> tuple[OpenChat, SavedState | None]:
    """The chat (created on first contact; its last inbound time set to now,
    and active again if it had blocked the bot) and where its conversation
    stands. The UPDATE locks the chat row for this
    transaction, so one chat's messages are handled one after another even
    across processes."""
    connection = session.connection()
    touched = TOUCH_CHAT.first(connection, {"p_channel": channel, "p_chat_id": chat_id, "p_now": now})
    return _opened(connection, touched, channel=channel, chat_id=chat_id, language=language, now=now)


def _claim_and_touch(insert_) -> Prepared:
    """The message's key claimed and, if it was new, TOUCH_CHAT, in one
    statement: whether the key was new, and the chat's id and language (none
    when the chat is new). The chat's state is read after, in a statement of
    its own: one statement reads every table as it stood when the statement
    began, before the UPDATE waited for another process's message to commit."""
    claimed = (
        insert_(PROCESSED)
        .values(channel=bindparam("p_channel"), message_id=bindparam("p_message_id"), processed_at=bindparam("p_now"))
        .on_conflict_do_nothing()
        .returning(PROCESSED.c.message_id)
        .cte("claimed")
    )
    fresh = exists(select(claimed.c.message_id))
    touched = (
        update(CHATS)
        .where(CHATS.c.channel == bindparam("p_channel"), CHATS.c.chat_id == bindparam("p_chat_id"), fresh)
        .values(last_inbound_at=bindparam("p_now"), active=True)
        .returning(CHATS.c.id, CHATS.c.language)
        .cte("touched")
    )
    one = select(literal(1)).subquery("one")
    return Prepared(
        select(fresh.label("fresh"), touched.c.id, touched.c.language).select_from(one.outerjoin(touched, true()))
    )


CLAIM_AND_TOUCH = PerDialect(_claim_and_touch)  # where writes_inside_with


def arrive(
    session: Session, *, channel: str, chat_id: str, message_id: str, language: str, now: datetime
) -> tuple[OpenChat, SavedState | None] | None:
    """A message's key claimed (storage/processed.py: claim_message) and its
    chat opened (open_chat); None for a redelivery, when nothing is done. On
    PostgreSQL the claim and the chat's UPDATE are one statement, a round
    trip less for every message."""
    connection = session.connection()
    if not writes_inside_with(connection):
        if not claim_message(session, channel=channel, message_id=message_id, now=now):
            return None
        return open_chat(session, channel=channel, chat_id=chat_id, language=language, now=now)
    parameters = {"p_channel": channel, "p_chat_id": chat_id, "p_message_id": message_id, "p_now": now}
    found = CLAIM_AND_TOUCH[connection.dialect.name].first(connection, parameters)
    if not found.fresh:
        return None
    touched = found if found.id is not None else None
    return _opened(connection, touched, channel=channel, chat_id=chat_id, language=language, now=now)


def _opened(
    connection: Connection, touched: NamedTuple | None, *, channel: str, chat_id: str, language: str, now: datetime
) -> tuple[OpenChat, SavedState | None]:
    """open_chat's rest, after its UPDATE: the chat made if `touched` found
    none, else its state read."""
    if touched is None:
        row = {
            "channel": channel,
            "chat_id": chat_id,
            "language": language,
            "active": True,
            "last_inbound_at": now,
            "created_at": now,
        }
        created = connection.execute(NEW_CHAT, row).scalar_one()
        return OpenChat(created, channel, chat_id, language), None
    arrived = ARRIVED.first(connection, {"p_chat_pk": touched.id})
    chat = OpenChat(touched.id, channel, chat_id, touched.language, arrived.linked, arrived.answers_held)
    return chat, SavedState(*arrived[:5]) if arrived.flow is not None else None


ADD_RECIPIENT = PerDialect(
    lambda insert: insert(CHATS).on_conflict_do_update(index_elements=["channel", "chat_id"], set_={"active": True})
)
FIND_CHAT = select(CHATS.c.id).where(
    CHATS.c.channel == bindparam("p_channel"), CHATS.c.chat_id == bindparam("p_chat_id")
)


def recipient(session: Session, *, channel: str, chat_id: str, language: str, now: datetime) -> int:
    """The chat row of someone Payung writes to first (the operators' group,
    an operator's number), made if it is not there yet; its id. It is made
    reachable again too: nothing inbound ever revives a group, so a bot
    removed and added back would otherwise never notify it again."""
    connection = session.connection()
    row = {"channel": channel, "chat_id": chat_id, "language": language, "active": True, "created_at": now}
    connection.execute(ADD_RECIPIENT[connection.dialect.name], row)
    return connection.execute(FIND_CHAT, {"p_channel": channel, "p_chat_id": chat_id}).scalar_one()


def state_row(
    *,
    chat: OpenChat,
    flow: str,
    step: str,
    data: dict[str, Any],
    choices: list[list[str]],
    now: datetime,
    expires_at: datetime,
) -> dict[str, Any]:
    """Where a chat's conversation waits next, as save_state (or
    storage/replies.py: hold, with the message's replies) saves it."""
    return {
        "chat_pk": chat.id,
        "flow": flow,
        "step": step,
        "data": data,
        "choices": choices,
        "expires_at": expires_at,
        "updated_at": now,
    }


def save_state(session: Session, state: dict[str, Any]) -> None:
    connection = session.connection()
    SAVE_STATE[connection.dialect.name].rows(connection, state)


def set_language(session: Session, *, chat: OpenChat, language: str) -> None:
    session.connection().execute(SET_LANGUAGE, {"p_chat_pk": chat.id, "p_language": language})
    chat.language = language


def mark_unreachable(session: Session, *, channel: str, chat_id: str) -> None:
    """The platform says this person cannot be reached (they blocked the bot):
    nothing more is sent until they write again, which sets the chat active."""
    session.connection().execute(MARK_UNREACHABLE, {"p_channel": channel, "p_chat_id": chat_id})


@dataclass(frozen=True)
class Addressee:
    """What the outbound path needs to know about a chat before sending."""

    language: str
    active: bool
    last_inbound_at: datetime | None


def addressee(session: Session, *, channel: str, chat_id: str) -> Addressee | None:
    row = (
        session.connection()
        .execute(
            select(CHATS.c.language, CHATS.c.active, CHATS.c.last_inbound_at).where(
                CHATS.c.channel == channel, CHATS.c.chat_id == chat_id
            )
        )
        .first()
    )
    return Addressee(*row) if row else None


def prune_sessions(session: Session, *, before: datetime) -> int:
    """Forget conversations that ended (went idle) before `before`, with any
    draft in them: personal data kept no longer than the conversation needs."""
    return session.connection().execute(delete(SESSIONS).where(SESSIONS.c.expires_at < before)).rowcount


def end_conversation(session: Session, *, chat_pk: int, flow: str) -> bool:
    """Forget the chat's conversation if it is in `flow` (a helpdesk thread an
    operator closed), so its next message is read like a new chat's: as an
    answer to the menu. Whether there was one."""
    statement = SESSIONS.delete().where(SESSIONS.c.chat_pk == chat_pk, SESSIONS.c.flow == flow)
    return session.connection().execute(statement).rowcount > 0
