"""Replies held in the database from the step that said them until the
platform has them (storage/models.py: PendingReply)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, bindparam, delete, insert, select, update
from sqlmodel import Session

from storage.chats import save_state, upsert_state
from storage.db import PerDialect, writes_inside_with
from storage.prepared import Prepared
from storage.tables import REPLIES

HELD = ("channel", "chat_id", "body", "due_at")
MOST_IN_ONE_INSERT = 8  # a step says one to three things; more go in several inserts


def _holding(count: int) -> Insert:
    """`count` replies in one INSERT ... VALUES (...), (...) RETURNING id:
    two replies through Core's executemany had cost 65 µs of CPU on SQLite
    and 196 on PostgreSQL (there the dispatcher's busiest statement), 30
    and 120 this way. A statement inserts its VALUES in their order, so the
    ids it gives ascend in that order."""
    rows = [{name: bindparam(f"{name}_{i}", type_=REPLIES.c[name].type) for name in HELD} for i in range(count)]
    return insert(REPLIES).values(rows).returning(REPLIES.c.id)


def _holding_saving(insert_) -> tuple[Prepared, ...]:
    """The same with the chat's state saved in the statement (WITH saved AS
    (INSERT INTO sessions ...)), where storage.db.writes_inside_with: a round trip
    less for every message (65 of the two statements' 200 µs of the
    client's CPU, and 110 µs of waiting, measured on their own)."""
    saved = upsert_state(insert_).cte("saved")
    return tuple(Prepared(_holding(count).add_cte(saved)) for count in range(1, MOST_IN_ONE_INSERT + 1))


HOLDING = tuple(Prepared(_holding(count)) for count in range(1, MOST_IN_ONE_INSERT + 1))
HOLDING_SAVING = PerDialect(_holding_saving)  # where writes_inside_with


def hold(
    session: Session,
    *,
    channel: str,
    chat_id: str,
    bodies: list[dict[str, Any]],
    due_at: datetime,
    state: dict[str, Any] | None = None,
) -> list[int]:
    """Keep a step's replies, in order, in the step's own transaction; their
    ids. `state` (storage/chats.py: state_row), where the chat's
    conversation waits next, is saved with them."""
    connection = session.connection()
    statements, values = HOLDING, {}
    if state is not None and bodies and writes_inside_with(connection):
        statements, values = HOLDING_SAVING[connection.dialect.name], dict(state)  # in the first INSERT
    elif state is not None:
        save_state(session, state)
    ids: list[int] = []
    for start in range(0, len(bodies), MOST_IN_ONE_INSERT):
        some = bodies[start : start + MOST_IN_ONE_INSERT]
        for number, body in enumerate(some):
            values.update(zip((f"{name}_{number}" for name in HELD), (channel, chat_id, body, due_at), strict=True))
        ids += sorted(row.id for row in statements[len(some) - 1].rows(connection, values))
        statements, values = HOLDING, {}
    return ids


def forget(session: Session, ids: Collection[int]) -> None:
    """The platform has these (or refused them for good)."""
    if ids:
        session.connection().execute(delete(REPLIES).where(REPLIES.c.id.in_(list(ids))))


def renew(session: Session, ids: Collection[int], *, due_at: datetime) -> None:
    """These are still queued in a live process: nobody takes them up before `due_at`."""
    if ids:
        session.connection().execute(update(REPLIES).where(REPLIES.c.id.in_(list(ids))).values(due_at=due_at))


@dataclass(frozen=True)
class Unsent:
    id: int
    chat_id: str
    body: dict[str, Any]


def take_up(session: Session, *, channel: str, now: datetime, lease: timedelta, limit: int = 1000) -> list[Unsent]:
    """Replies on `channel` that the process holding them did not send in time
    (it crashed, or was stopped), in the order they were said, held anew by
    the caller for `lease`. On PostgreSQL rows another process is taking up
    are skipped."""
    rows = (
        session.connection()
        .execute(
            select(REPLIES.c.id, REPLIES.c.chat_id, REPLIES.c.body)
            .where(REPLIES.c.channel == channel, REPLIES.c.due_at <= now)
            .order_by(REPLIES.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        .all()
    )
    if rows:
        ids = [row.id for row in rows]
        session.connection().execute(update(REPLIES).where(REPLIES.c.id.in_(ids)).values(due_at=now + lease))
    return [Unsent(row.id, row.chat_id, row.body) for row in rows]
