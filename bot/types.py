"""The types the application's parts share, named once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from handlers.messages import Outbound
from storage.chats import Addressee

Clock = Callable[[], datetime]
# How the engine hands a reply to whoever sends it, with the id of the
# pending_replies row that keeps it until it is out, and the chat as the
# message's transaction left it (None for both: an apology that no
# transaction wrote; the sender then reads the chat itself).
Reply = Callable[[Outbound, int | None, Addressee | None], Awaitable[None]]
# Called once a queued message is out, or refused for good; what it returns
# completes when the database has forgotten the message (a sender holds the
# message's in-flight place until then, so a crash repeats at most those).
Finished = Callable[[], Awaitable[None]]
# How a message may go, as the sending policy decided (bot/outbound.py):
# as written, or as its approved template (outside a reply window).
Sendable = Literal["free", "template"]
# Whether a channel's template for a message may carry it: approved, under
# the platform's review (the message waits), or none at all.
Readiness = Literal["ready", "pending", "missing"]


@dataclass(frozen=True)
class Delivery:
    """What became of one Outbound, for callers that keep score (the outbox)."""

    state: Literal["sent", "failed", "skipped", "waiting"]  # waiting: its template is under review
    platform_message_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class TemplatePreview:
    """How a message would go past a channel's reply window: whether its
    template may carry it, the template's name, and the words as the person
    reads them (None where only the platform holds them)."""

    readiness: Readiness
    name: str | None = None
    words: str | None = None
