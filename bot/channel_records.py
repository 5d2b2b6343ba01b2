"""What channels keep in the database, in one place, so that channels
themselves only parse, render and call their platform: webhook deliveries
stored before they are acknowledged, the messages a platform accepted and
the statuses it reports later, and people who cannot be reached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlmodel import Session

from bot.group_commit import GroupCommit
from bot.types import Clock
from storage.chats import mark_unreachable, open_chat
from storage.db import Database
from storage.inbox import failed_pending, forget_pending, pending, store_pending
from storage.outbound import outbound_row, record_outbound, record_status


@dataclass(frozen=True)
class ChannelRecords:
    channel: str
    db: Database
    clock: Clock
    writes: GroupCommit

    # -- inbound: stored first, handled after -------------------------------

    def store(
        self, messages: list[tuple[str, dict[str, Any]]], statuses: list[dict[str, Any]]
    ) -> asyncio.Future[list[tuple[int, dict[str, Any]]]]:
        """In the next group commit, with the deliveries that arrive beside
        this one: each new (message id, payload), repeats of a stored one
        dropped, and each delivery status (`status` below). Its result: the
        stored messages to handle once the delivery is acknowledged.

        Together because WhatsApp delivers a message's every status (sent,
        delivered, read) as a webhook of its own, and each would otherwise
        be a transaction, on PostgreSQL a commit waiting for the disk."""
        return self.writes.write(partial(self._stored, messages, statuses, self.clock()))

    def _stored(
        self,
        messages: list[tuple[str, dict[str, Any]]],
        statuses: list[dict[str, Any]],
        now: datetime,
        session: Session,
    ) -> list[tuple[int, dict[str, Any]]]:
        stored = []
        for status in statuses:
            self._status(session, now=now, **status)
        for message_id, payload in messages:
            pending_id = store_pending(session, channel=self.channel, message_id=message_id, payload=payload, now=now)
            if pending_id is not None:
                stored.append((pending_id, payload))
        return stored

    def waiting(self) -> list[tuple[int, dict[str, Any]]]:
        """What was stored but not handled before a crash or restart."""
        with self.db.transaction() as session:
            return pending(session, channel=self.channel)

    def handled(self, pending_id: int) -> asyncio.Future:
        """A stored message was handled: forgotten in the next group commit,
        not in a transaction of its own (on PostgreSQL a third round of
        BEGIN, DELETE and a COMMIT waiting for the disk, every message). Its
        key was committed with its answer, so if a crash comes first, the
        start handles it again as the redelivery it is: nothing is said twice."""
        return self.writes.write_each(forget_pending, pending_id)

    def heard_from(self, chat_id: str, *, language: str) -> str:
        """The person wrote, though what they sent could not be handled: their
        reply window opens as for any message. Their chat's language."""
        with self.db.transaction() as session:
            chat, _ = open_chat(session, channel=self.channel, chat_id=chat_id, language=language, now=self.clock())
        return chat.language

    def failed(self, pending_id: int, error: str, *, most: int) -> tuple[int, bool]:
        """One more failed try at a stored message; (tries, whether it is now a dead letter)."""
        with self.db.transaction() as session:
            return failed_pending(session, pending_id=pending_id, error=error, now=self.clock(), most=most)

    # -- outbound ------------------------------------------------------------

    # Written in the next group commit: at a platform's rate, one
    # transaction a message would not keep up, nor should it stop the loop.

    def sent(
        self, chat_id: str, state: str, *, platform_message_id: str | None = None, detail: str | None = None
    ) -> asyncio.Future:
        """What became of a message to a chat: accepted (with the platform's
        id, which later statuses name), skipped or failed (with why)."""
        row = outbound_row(
            channel=self.channel,
            chat_id=chat_id,
            status=state,
            now=self.clock(),
            platform_message_id=platform_message_id,
            detail=detail,
        )
        return self.writes.write_each(record_outbound, row)

    def unreachable(self, chat_id: str) -> asyncio.Future:
        """The platform says this person cannot be reached (they blocked the
        bot): nothing more goes to them until they write again."""
        return self.writes.write(partial(mark_unreachable, channel=self.channel, chat_id=chat_id))

    def _status(
        self, session, *, now, platform_message_id: str, status: str, detail: str | None, unreachable: str | None
    ) -> None:
        record_status(
            session,
            channel=self.channel,
            platform_message_id=platform_message_id,
            status=status,
            now=now,
            detail=detail,
        )
        if unreachable:
            mark_unreachable(session, channel=self.channel, chat_id=unreachable)
