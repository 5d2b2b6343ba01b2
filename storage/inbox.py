"""Webhook deliveries stored before they are acknowledged, handled after."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session

from storage.db import PerDialect
from storage.prepared import Prepared
from storage.tables import PENDING

# Every WhatsApp message is stored (storage/prepared.py says why prepared).
STORE = PerDialect(lambda insert: Prepared(insert(PENDING).on_conflict_do_nothing().returning(PENDING.c.id)))


def store_pending(
    session: Session, *, channel: str, message_id: str, payload: dict[str, Any], now: datetime
) -> int | None:
    """The new row's id, or None when this message is already waiting."""
    connection = session.connection()
    row = {"channel": channel, "message_id": message_id, "payload": payload, "received_at": now}
    stored = STORE[connection.dialect.name].first(connection, row)
    return stored.id if stored else None


def pending(session: Session, *, channel: str) -> list[tuple[int, dict[str, Any]]]:
    """What was stored but not handled (a crash, a restart), oldest first; not the dead letters."""
    statement = (
        select(PENDING.c.id, PENDING.c.payload)
        .where(PENDING.c.channel == channel, PENDING.c.dead_at.is_(None))
        .order_by(PENDING.c.id)
    )
    return [(row.id, row.payload) for row in session.connection().execute(statement)]


def failed_pending(session: Session, *, pending_id: int, error: str, now: datetime, most: int) -> tuple[int, bool]:
    """Count one failed try; (tries so far, whether it is now a dead letter).
    A dead letter keeps who sent what kind of message, not its content."""
    connection = session.connection()
    row = connection.execute(select(PENDING.c.attempts, PENDING.c.payload).where(PENDING.c.id == pending_id)).first()
    if row is None:
        return 0, False
    attempts = row.attempts + 1
    dead = attempts >= most
    values: dict[str, Any] = {"attempts": attempts, "last_error": error[:200]}
    if dead:
        values.update(dead_at=now, payload={key: row.payload.get(key) for key in ("from", "id", "type")})
    connection.execute(update(PENDING).where(PENDING.c.id == pending_id).values(**values))
    return attempts, dead


@dataclass(frozen=True)
class DeadLetter:
    channel: str
    message_id: str
    sender: str | None
    kind: str | None
    received_at: datetime
    attempts: int
    last_error: str | None


def dead_letters(session: Session) -> list[DeadLetter]:
    statement = select(PENDING).where(PENDING.c.dead_at.is_not(None)).order_by(PENDING.c.id)
    return [
        DeadLetter(
            row.channel,
            row.message_id,
            row.payload.get("from"),
            row.payload.get("type"),
            row.received_at,
            row.attempts,
            row.last_error,
        )
        for row in session.connection().execute(statement)
    ]


def forget_pending(session: Session, pending_ids: Collection[int]) -> None:
    """These were handled (bot/channel_records.py: ChannelRecords.handled)."""
    if pending_ids:
        session.connection().execute(delete(PENDING).where(PENDING.c.id.in_(list(pending_ids))))
