"""Webhook deliveries stored before they are acknowledged, handled after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from storage.db import per_dialect
from storage.tables import PENDING

STORE = per_dialect(lambda insert: insert(PENDING).on_conflict_do_nothing().returning(PENDING.c.id))


def store_pending(
    session: Session, *, channel: str, message_id: str, payload: dict[str, Any], now: datetime
) -> int | None:
    """The new row's id, or None when this message is already waiting."""
    connection = session.connection()
    row = {"channel": channel, "message_id": message_id, "payload": payload, "received_at": now}
    return connection.execute(STORE[connection.dialect.name], row).scalar()


def pending(session: Session, *, channel: str) -> list[tuple[int, dict[str, Any]]]:
    """What was stored but not handled (a crash, a restart), oldest first."""
    statement = select(PENDING.c.id, PENDING.c.payload).where(PENDING.c.channel == channel).order_by(PENDING.c.id)
    return [(row.id, row.payload) for row in session.connection().execute(statement)]


def forget_pending(session: Session, *, pending_id: int) -> None:
    session.connection().execute(delete(PENDING).where(PENDING.c.id == pending_id))
