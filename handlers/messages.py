"""The whole channel contract: what a person sent, and what the bot says back.

Channels only translate between these and their platform; the engine never sees
a platform object, so a flow written once works on every channel.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from storage.media import Media

# Telegram's callback_data holds 64 bytes; other platforms allow more.
CHOICE_KEY_BYTES = 64


@dataclass(frozen=True)
class Choice:
    """A button. `id` is what the flow sees; `title` is what the person reads."""

    id: str
    title: str
    description: str = ""

    @property
    def key(self) -> str:
        return choice_key(self.id)


def choice_key(choice_id: str) -> str:
    """What a button carries back when tapped: the id itself, or for an id
    too long for every platform, a digest of it that the engine matches."""
    if len(choice_id.encode()) <= CHOICE_KEY_BYTES:
        return choice_id
    return "#" + hashlib.sha256(choice_id.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float


# Why a channel could not take what was sent; the engine answers with the
# catalogue's text refused.<reason> and leaves the conversation where it was.
Refusal = Literal["foreign_contact", "file_too_large", "unsupported"]


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do, as flows may ask it (never its name)."""

    # How a chat proves its own phone number: the platform vouches for the
    # sender (WhatsApp's wa_id), the person shares their own contact
    # (Telegram), or a typed number is trusted (the operator's own console).
    verified_phone: Literal["sender", "contact", "typed"]
    buttons: bool = True  # tappable choices; else numbered lines to type
    templates: bool = False  # approved templates reach a person outside the reply window
    max_text: int = 4096  # characters in one message; longer text is split
    # Free text only this long after the person's last message (WhatsApp: 24).
    reply_window_hours: int | None = None


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
    refused: Refusal | None = None
    # The sender's own number where the platform vouches for it (WhatsApp's
    # wa_id), so a step can use it without asking.
    sender_phone: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        # The boundary every channel passes: what people send never carries
        # terminal escapes or other control characters to the staff who read it.
        object.__setattr__(self, "text", printable(self.text))


# Control characters but newline and tab; escape sequences go with their ESC.
CONTROL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?)?|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control characters (keeping newlines and tabs), CR LF as LF."""
    return CONTROL.sub("", text.replace("\r\n", "\n"))


@dataclass(frozen=True)
class Request:
    """Ask for the person's own phone number or their location: a button on
    Telegram (labelled `label`), plain instructions elsewhere."""

    kind: Literal["contact", "location"]
    label: str


@dataclass(frozen=True)
class TemplateRef:
    """Which approved WhatsApp template stands for this message outside the
    24-hour window (`key` in whatsapp.templates), and the values its
    parameters are filled from."""

    key: str
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outbound:
    text: str
    choices: tuple[Choice, ...] = ()
    request: Request | None = None
    template: TemplateRef | None = None
    # Files sent after the text (a report's photos, to the operators). On
    # WhatsApp outside the 24-hour window only the template goes.
    attachments: tuple[Media, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """What the database keeps of a reply until it has gone out (by hand:
        dataclasses.asdict deep-copies, at a cost every reply would pay)."""
        template = self.template
        return {
            "text": self.text,
            "choices": [
                {"id": choice.id, "title": choice.title, "description": choice.description} for choice in self.choices
            ],
            "request": {"kind": self.request.kind, "label": self.request.label} if self.request else None,
            "template": {"key": template.key, "values": [list(pair) for pair in template.values]} if template else None,
            "attachments": [item.as_json() for item in self.attachments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outbound:
        request, template = data["request"], data["template"]
        return cls(
            text=data["text"],
            choices=tuple(Choice(**choice) for choice in data["choices"]),
            request=Request(**request) if request else None,
            template=TemplateRef(template["key"], tuple(tuple(pair) for pair in template["values"]))
            if template
            else None,
            attachments=tuple(Media.from_json(item) for item in data["attachments"]),
        )
