"""Consent to reminders, per chat and participant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session

from storage.chats import OpenChat
from storage.db import insert_for
from storage.models import ReminderSubscription


def subscribe(session: Session, *, chat: OpenChat, participant_id: int, now: datetime) -> None:
    session.execute(
        insert_for(session, ReminderSubscription)
        .values(chat_pk=chat.id, participant_id=participant_id, created_at=now)
        .on_conflict_do_nothing()
    )


def unsubscribe_all(session: Session, *, chat: OpenChat) -> int:
    result = session.execute(delete(ReminderSubscription).where(ReminderSubscription.chat_pk == chat.id))
    return result.rowcount
