"""Identity checks: the lockout counter and the audit trail in one table."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from storage.chats import OpenChat
from storage.models import LookupAttempt

FOUND = "found"
NOT_FOUND = "not_found"
REFUSED = "refused"


def record_attempt(
    session: Session,
    *,
    chat: OpenChat,
    purpose: str,
    outcome: str,
    now: datetime,
    participant_id: int | None = None,
) -> None:
    session.add(
        LookupAttempt(
            chat_pk=chat.id, purpose=purpose, outcome=outcome, participant_id=participant_id, at=now
        )
    )


def failures_since(session: Session, *, chat: OpenChat, since: datetime) -> list[datetime]:
    """Times of failed checks from this chat after `since`, oldest first."""
    statement = (
        select(LookupAttempt.at)
        .where(
            LookupAttempt.chat_pk == chat.id,
            LookupAttempt.outcome == NOT_FOUND,
            LookupAttempt.at > since,
        )
        .order_by(LookupAttempt.at)
    )
    return list(session.exec(statement))
