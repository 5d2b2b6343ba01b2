"""Chats and the conversation state that hangs off them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from storage.models import Chat, ConversationState


def get_or_create_chat(
    session: Session, *, channel: str, chat_id: str, language: str, now: datetime
) -> Chat:
    """The chat row, locked for this transaction, so that one chat's messages
    are handled one after another even across processes (PostgreSQL)."""
    statement = select(Chat).where(Chat.channel == channel, Chat.chat_id == chat_id)
    chat = session.exec(statement.with_for_update()).first()
    if chat is None:
        chat = Chat(channel=channel, chat_id=chat_id, language=language, created_at=now)
        session.add(chat)
        session.flush()
    return chat


def load_state(session: Session, *, chat: Chat) -> ConversationState | None:
    return session.get(ConversationState, chat.id)


def save_state(
    session: Session,
    *,
    chat: Chat,
    flow: str,
    step: str,
    data: dict[str, Any],
    choices: list[list[str]],
    now: datetime,
    expires_at: datetime,
) -> None:
    state = session.get(ConversationState, chat.id)
    if state is None:
        state = ConversationState(chat_pk=chat.id, flow=flow, step=step, expires_at=expires_at, updated_at=now)
        session.add(state)
    state.flow, state.step = flow, step
    # JSON columns are compared by identity; fresh objects make the change visible.
    state.data, state.choices = dict(data), [list(c) for c in choices]
    state.expires_at, state.updated_at = expires_at, now
