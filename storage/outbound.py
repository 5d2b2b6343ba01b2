"""Records of outbound messages and the delivery statuses platforms report."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session

from storage.prepared import Prepared
from storage.tables import OUTBOUND

# Up to three statuses a WhatsApp message (sent, delivered, read): prepared
# (storage/prepared.py).
STATUS = Prepared(
    update(OUTBOUND)
    .where(OUTBOUND.c.channel == bindparam("p_channel"), OUTBOUND.c.platform_message_id == bindparam("p_id"))
    .values(status=bindparam("p_status"), detail=bindparam("p_detail"), updated_at=bindparam("p_now"))
    .returning(OUTBOUND.c.id)
)


def outbound_row(
    *,
    channel: str,
    chat_id: str,
    status: str,
    now: datetime,
    platform_message_id: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "chat_id": chat_id,
        "platform_message_id": platform_message_id,
        "status": status,
        "detail": detail and detail[:500],
        "created_at": now,
        "updated_at": now,
    }


def record_outbound(session: Session, rows: Collection[dict[str, Any]]) -> None:
    """Messages sent (outbound_row), in one statement: on PostgreSQL a round
    trip for the many that a group commit gathers, not one each."""
    if rows:
        session.connection().execute(insert(OUTBOUND), list(rows))


def record_status(
    session: Session, *, channel: str, platform_message_id: str, status: str, now: datetime, detail: str | None = None
) -> bool:
    """False when the message is not one of ours (or not recorded)."""
    values = {
        "p_channel": channel,
        "p_id": platform_message_id,
        "p_status": status,
        "p_detail": detail and detail[:500],
        "p_now": now,
    }
    return bool(STATUS.rows(session.connection(), values))
