"""Dedupe of inbound messages by (channel, message id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session

from storage.db import PerDialect
from storage.models import ProcessedMessage
from storage.prepared import Prepared
from storage.tables import PROCESSED

CLAIM = PerDialect(
    lambda insert: Prepared(insert(PROCESSED).on_conflict_do_nothing().returning(ProcessedMessage.message_id))
)


def claim_message(session: Session, *, channel: str, message_id: str, now: datetime) -> bool:
    """True the first time a message id is seen. The key commits with the
    reply's state, so a crash before commit lets the redelivery through."""
    connection = session.connection()
    row = {"channel": channel, "message_id": message_id, "processed_at": now}
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT.
    return CLAIM[connection.dialect.name].first(connection, row) is not None


def prune_processed(session: Session, *, before: datetime) -> int:
    """Forget message keys older than any platform redelivers (days, not
    weeks), so the table does not grow forever."""
    return session.connection().execute(delete(PROCESSED).where(PROCESSED.c.processed_at < before)).rowcount
