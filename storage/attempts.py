"""Identity checks: the lockout counter and the audit trail in one table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select
from sqlmodel import Session

from storage.chats import OpenChat
from storage.tables import ATTEMPTS

FOUND = "found"
NOT_FOUND = "not_found"
REFUSED = "refused"

RECORD = insert(ATTEMPTS)
# Prebuilt: they run on every identity check (see storage/chats.py for why).
FAILURES_SINCE = (
    select(ATTEMPTS.c.at)
    .where(
        ATTEMPTS.c.chat_pk == bindparam("p_chat_pk"),
        ATTEMPTS.c.outcome == NOT_FOUND,
        ATTEMPTS.c.at > bindparam("p_since"),
    )
    .order_by(ATTEMPTS.c.at)
)


def record_attempt(
    session: Session,
    *,
    chat: OpenChat,
    purpose: str,
    outcome: str,
    now: datetime,
    participant_id: int | None = None,
) -> None:
    row = {"chat_pk": chat.id, "purpose": purpose, "outcome": outcome, "participant_id": participant_id, "at": now}
    session.connection().execute(RECORD, row)


def failures_since(session: Session, *, chat: OpenChat, since: datetime) -> list[datetime]:
    """Times of failed checks from this chat after `since`, oldest first."""
    return list(session.connection().execute(FAILURES_SINCE, {"p_chat_pk": chat.id, "p_since": since}).scalars())
