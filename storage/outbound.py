"""Records of outbound messages and the delivery statuses platforms report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlmodel import Session

from storage.tables import OUTBOUND


def record_outbound(
    session: Session,
    *,
    channel: str,
    chat_id: str,
    status: str,
    now: datetime,
    platform_message_id: str | None = None,
    detail: str | None = None,
) -> None:
    session.connection().execute(
        insert(OUTBOUND).values(
            channel=channel,
            chat_id=chat_id,
            platform_message_id=platform_message_id,
            status=status,
            detail=detail and detail[:500],
            created_at=now,
            updated_at=now,
        )
    )


def record_status(
    session: Session, *, channel: str, platform_message_id: str, status: str, now: datetime, detail: str | None = None
) -> bool:
    """False when the message is not one of ours (or not recorded)."""
    result = session.connection().execute(
        update(OUTBOUND)
        .where(OUTBOUND.c.channel == channel, OUTBOUND.c.platform_message_id == platform_message_id)
        .values(status=status, detail=detail and detail[:500], updated_at=now)
    )
    return result.rowcount > 0
