"""The whole channel contract: what a person sent, and what the bot says back.

Channels only translate between these and their platform; the engine never sees
a platform object, so a flow written once works on every channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal


@dataclass(frozen=True)
class Choice:
    """A button. `id` is what the flow sees; `title` is what the person reads."""

    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Media:
    """A photo or document a channel has already saved under the data directory."""

    path: str
    sha256: str
    mime_type: str = ""
    size: int = 0


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Inbound:
    channel: str
    chat_id: str
    message_id: str
    text: str = ""
    choice: str | None = None
    contact_phone: str | None = None
    location: Location | None = None
    media: tuple[Media, ...] = ()
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Outbound:
    text: str
    choices: tuple[Choice, ...] = ()
    request: Literal["contact", "location"] | None = None
    template: str | None = None
