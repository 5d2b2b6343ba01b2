"""Replies held in the database from the step that said them until the
platform has them (storage/models.py: PendingReply)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from storage.prepared import Prepared
from storage.tables import REPLIES

HOLD = insert(REPLIES).returning(REPLIES.c.id, sort_by_parameter_order=True)
HOLD_ONE = Prepared(insert(REPLIES).returning(REPLIES.c.id))


def hold(session: Session, *, channel: str, chat_id: str, bodies: list[dict[str, Any]], due_at: datetime) -> list[int]:
    """Keep a step's replies, in order, in the step's own transaction; their ids."""
    if not bodies:
        return []
    rows = [{"channel": channel, "chat_id": chat_id, "body": body, "due_at": due_at} for body in bodies]
    if len(rows) == 1:  # most steps say one thing: a plain insert, not executemany's batching
        return [HOLD_ONE.first(session.connection(), rows[0]).id]
    return list(session.connection().execute(HOLD, rows).scalars())


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
