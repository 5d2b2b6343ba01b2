"""Dedupe of inbound messages by (channel, message id)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage.db import insert_for
from storage.models import ProcessedMessage


def claim_message(session: Session, *, channel: str, message_id: str, now: datetime) -> bool:
    """True the first time a message id is seen. The key commits with the
    reply's state, so a crash before commit lets the redelivery through."""
    statement = (
        insert_for(session, ProcessedMessage)
        .values(channel=channel, message_id=message_id, processed_at=now)
        .on_conflict_do_nothing()
        .returning(ProcessedMessage.message_id)
    )
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT.
    # Core on the session's connection: this runs for every message, and the
    # ORM's execute layer (autoflush, entity bookkeeping) buys nothing here.
    return session.connection().execute(statement).first() is not None
