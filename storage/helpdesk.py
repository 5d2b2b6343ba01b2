"""Helpdesk threads: a person talking to the console's operators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlmodel import Session

from storage.media import Media
from storage.privacy import mask_niks
from storage.tables import CHATS, HELP_MESSAGES, HELP_THREADS

if TYPE_CHECKING:  # storage.chats reads whether answers are held with held_for
    from storage.chats import OpenChat

OPEN, CLOSED = "open", "closed"
PERSON = "person"


@dataclass(frozen=True)
class Thread:
    id: int
    chat_pk: int
    channel: str
    chat_id: str
    language: str
    state: str
    opened_at: datetime
    waiting_since: datetime | None
    taken_by: str | None
    closed_by: str | None


THREAD = select(
    HELP_THREADS.c.id,
    HELP_THREADS.c.chat_pk,
    CHATS.c.channel,
    CHATS.c.chat_id,
    CHATS.c.language,
    HELP_THREADS.c.state,
    HELP_THREADS.c.opened_at,
    HELP_THREADS.c.waiting_since,
    HELP_THREADS.c.taken_by,
    HELP_THREADS.c.closed_by,
).join(CHATS, CHATS.c.id == HELP_THREADS.c.chat_pk)


@dataclass(frozen=True)
class Message:
    id: int
    author: str
    text: str
    attachments: tuple[Media, ...]
    latitude: float | None
    longitude: float | None
    at: datetime

    @property
    def from_person(self) -> bool:
        return self.author == PERSON


MESSAGE = select(
    HELP_MESSAGES.c.id,
    HELP_MESSAGES.c.author,
    HELP_MESSAGES.c.text,
    HELP_MESSAGES.c.attachments,
    HELP_MESSAGES.c.latitude,
    HELP_MESSAGES.c.longitude,
    HELP_MESSAGES.c.at,
)


def _message(row) -> Message:
    id_, author, text, attachments, latitude, longitude, at = row
    files = tuple(Media.from_json(item) for item in attachments or ())
    return Message(id_, author, text, files, latitude, longitude, at)


def open_thread_of(session: Session, *, chat_pk: int) -> int | None:
    statement = select(HELP_THREADS.c.id).where(HELP_THREADS.c.chat_pk == chat_pk, HELP_THREADS.c.state == OPEN)
    return session.connection().execute(statement).scalar()


def open_thread(session: Session, *, chat_pk: int, now: datetime) -> tuple[int, bool]:
    """The chat's open thread, or a new one; whether it is new. The chat's
    row is locked for its message, so two threads are never opened at once."""
    found = open_thread_of(session, chat_pk=chat_pk)
    if found is not None:
        return found, False
    row = {"chat_pk": chat_pk, "state": OPEN, "opened_at": now}
    return session.connection().execute(
        HELP_THREADS.insert().values(row).returning(HELP_THREADS.c.id)
    ).scalar_one(), True


def add_message(
    session: Session,
    *,
    thread_id: int,
    author: str,
    text: str,
    now: datetime,
    attachments: Iterable[Media] = (),
    latitude: float | None = None,
    longitude: float | None = None,
    awaiting_person: bool = False,
) -> int:
    """A message of the thread. The person's starts the wait for an answer
    (if none was waiting); an operator's ends it."""
    row = {
        "thread_id": thread_id,
        "author": author[:64],
        "text": mask_niks(text),
        "attachments": [item.as_json() for item in attachments] or None,
        "latitude": latitude,
        "longitude": longitude,
        "awaiting_person": awaiting_person,
        "at": now,
    }
    connection = session.connection()
    message_id = connection.execute(HELP_MESSAGES.insert().values(row).returning(HELP_MESSAGES.c.id)).scalar_one()
    waiting = func.coalesce(HELP_THREADS.c.waiting_since, now) if author == PERSON else None
    connection.execute(update(HELP_THREADS).where(HELP_THREADS.c.id == thread_id).values(waiting_since=waiting))
    return message_id


def held_for(chat_pk: ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
    """The answers held for a chat: given only as a template, in any of its
    threads (one may have closed since). `chat_pk` may be the chats table's
    column of an enclosing query, which the threads are then matched to."""
    threads = select(HELP_THREADS.c.id).where(HELP_THREADS.c.chat_pk == chat_pk).correlate_except(HELP_THREADS)
    return HELP_MESSAGES.c.thread_id.in_(threads), HELP_MESSAGES.c.awaiting_person.is_(True)


# Built once (see storage/chats.py for why).
HELD = held_for(bindparam("chat_pk"))
FIND_HELD = MESSAGE.where(*HELD).order_by(HELP_MESSAGES.c.id)
GIVE_HELD = update(HELP_MESSAGES).where(*HELD).values(awaiting_person=False)


def held_answers(session: Session, *, chat: OpenChat) -> list[Message]:
    """Answers held for a chat, to give whole now, and forget. Only read when
    some were held as its message came in (open_chat tells), since every
    message a person sends asks."""
    if not chat.answers_held:
        return []
    connection = session.connection()
    found = [_message(row) for row in connection.execute(FIND_HELD, {"chat_pk": chat.id})]
    connection.execute(GIVE_HELD, {"chat_pk": chat.id})
    return found


def thread(session: Session, *, thread_id: int) -> Thread | None:
    row = session.connection().execute(THREAD.where(HELP_THREADS.c.id == thread_id)).first()
    return Thread(*row) if row else None


def threads(session: Session, *, state: str, offset: int = 0, limit: int = 50) -> tuple[list[Thread], int]:
    """A page of threads in `state`: those waiting for an answer first, the
    longest-waiting at the top; and how many there are."""
    statement = THREAD.where(HELP_THREADS.c.state == state).order_by(
        HELP_THREADS.c.waiting_since.is_(None), HELP_THREADS.c.waiting_since, HELP_THREADS.c.opened_at
    )
    connection = session.connection()
    rows = connection.execute(statement.offset(offset).limit(limit))
    total = connection.execute(
        select(func.count()).select_from(HELP_THREADS).where(HELP_THREADS.c.state == state)
    ).scalar_one()
    return [Thread(*row) for row in rows], total


def messages(session: Session, *, thread_id: int, after: int = 0) -> list[Message]:
    statement = MESSAGE.where(HELP_MESSAGES.c.thread_id == thread_id, HELP_MESSAGES.c.id > after)
    return [_message(row) for row in session.connection().execute(statement.order_by(HELP_MESSAGES.c.id))]


def take(session: Session, *, thread_id: int, by: str, now: datetime) -> None:
    session.connection().execute(
        update(HELP_THREADS).where(HELP_THREADS.c.id == thread_id).values(taken_by=by[:64], taken_at=now)
    )


def close(session: Session, *, thread_id: int, by: str, now: datetime) -> bool:
    """Close an open thread; whether it was open."""
    statement = (
        update(HELP_THREADS)
        .where(HELP_THREADS.c.id == thread_id, HELP_THREADS.c.state == OPEN)
        .values(state=CLOSED, closed_at=now, closed_by=by[:64], waiting_since=None)
    )
    return session.connection().execute(statement).rowcount > 0


def waiting_untold(session: Session) -> list[tuple[int, int, str]]:
    """Open threads whose person waits and has not been told since that
    the office is closed: (thread, chat row, the chat's language)."""
    statement = (
        select(HELP_THREADS.c.id, HELP_THREADS.c.chat_pk, CHATS.c.language)
        .join(CHATS, CHATS.c.id == HELP_THREADS.c.chat_pk)
        .where(
            HELP_THREADS.c.state == OPEN,
            HELP_THREADS.c.waiting_since.is_not(None),
            (HELP_THREADS.c.told_after_hours_at.is_(None))
            | (HELP_THREADS.c.told_after_hours_at < HELP_THREADS.c.waiting_since),
        )
    )
    return [tuple(row) for row in session.connection().execute(statement)]


def told_after_hours(session: Session, *, thread_id: int, now: datetime) -> None:
    session.connection().execute(
        update(HELP_THREADS).where(HELP_THREADS.c.id == thread_id).values(told_after_hours_at=now)
    )
