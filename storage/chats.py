"""Chats and the conversation state that hangs off them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from storage.models import Chat, ConversationState


def open_chat(
    session: Session, *, channel: str, chat_id: str, language: str, now: datetime
) -> tuple[Chat, ConversationState | None]:
    """The chat row (created on first contact) and where its conversation
    stands, in one query. The chat row is locked for this transaction, so one
    chat's messages are handled one after another even across processes."""
    statement = (
        select(Chat, ConversationState)
        .outerjoin(ConversationState, ConversationState.chat_pk == Chat.id)
        .where(Chat.channel == channel, Chat.chat_id == chat_id)
        .with_for_update(of=Chat)
    )
    found = session.exec(statement).first()
    if found is not None:
        return found[0], found[1]
    chat = Chat(channel=channel, chat_id=chat_id, language=language, created_at=now)
    session.add(chat)
    session.flush()
    return chat, None


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
