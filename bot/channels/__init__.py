"""Channels: one module per chat platform, plugged in by name.

A channel is named for its section of config.yaml (a `ChannelSettings`
field of Settings: telegram, whatsapp) and lives in bot/channels/<name>.py,
which provides:

  CAPABILITIES   what it can do (handlers.messages.Capabilities), which
                 flows ask instead of its name;
  plugin(app)    the Channel, built from the app's settings and the
                 environment's secrets; it connects nothing until start();
  sender(app)    (async) the Channel for sending only, from the command
                 line (`reminders send`), or None when it cannot send there;
  reminders_ready(settings, session), template_preview(settings, session,
                 key, language, values)  (optional, for a channel with
                 templates) whether its reminders' templates may carry them
                 now; how a message past its reply window would read.

So adding a channel is its module, its config section and its tests. The
console (`python -m bot chat`) is a channel too, with no section: it is
always there. Channels only parse, render and call their platform; whether
a message may go at all is the outbound layer's decision (bot/outbound.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Protocol

from sqlmodel import Session

from bot.config import Settings
from bot.types import Delivery, Finished, Readiness, Sendable, TemplatePreview
from handlers.messages import Capabilities, Inbound, Outbound

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.app import App

ALWAYS = ("console",)


class Channel(Protocol):
    name: str
    capabilities: Capabilities
    in_flight: int  # platform calls that may await an answer at once

    def routes(self) -> list[BaseRoute]: ...  # its webhooks, each checking its platform's proof
    def template(self, key: str, language: str) -> Readiness: ...  # its template for this message key
    async def start(self) -> None: ...  # connect, register, take up what was stored before a stop
    async def run(self) -> None: ...  # its own long work (polling); returns at once when it has none
    async def stop(self, timeout: float = 10.0) -> None: ...
    # A reply, queued to go in order after the chat's earlier ones; `answering`
    # is what it answers; `finished` is called once the platform has it or
    # refused it for good (not when a stop leaves it queued).
    def submit(
        self,
        chat_id: str,
        message: Outbound,
        how: Sendable,
        *,
        language: str,
        answering: Inbound | None,
        finished: Finished | None = None,
    ) -> None: ...
    # A message the bot starts (the outbox), awaited for its outcome.
    async def deliver(self, chat_id: str, message: Outbound, how: Sendable, *, language: str) -> Delivery: ...


def module(name: str):
    """A channel's module: its CAPABILITIES, plugin(app) and sender(app)."""
    return import_module(f"bot.channels.{name}")


def enabled(settings: Settings) -> list[str]:
    """The channels config.yaml turns on."""
    return [name for name, section in settings.channels().items() if section.enabled]


async def sending_channels(app: App, console: Channel) -> dict[str, Channel]:
    """The channels `reminders send` can reach from the command line: the
    console always, and each enabled channel that its secrets let send."""
    channels: dict[str, Channel] = {console.name: console}
    for name in enabled(app.settings):
        channel = await module(name).sender(app)
        if channel is not None:
            channels[name] = channel
    return channels


def reminders_reach(settings: Settings, session: Session, channel: str) -> bool:
    """Whether reminders reach `channel`'s chats past its reply window now:
    a module with templates says so (reminders_ready), the others always do."""
    ready = getattr(module(channel), "reminders_ready", None)
    return ready is None or ready(settings, session)


def template_preview(
    settings: Settings, session: Session, channel: str, key: str, language: str, values: Mapping[str, str]
) -> TemplatePreview:
    """How a message of kind `key` would reach `channel`'s chats past its
    reply window (a module with templates says: template_preview)."""
    preview = getattr(module(channel), "template_preview", None)
    return TemplatePreview("missing") if preview is None else preview(settings, session, key, language, values)


class ChannelCapabilities(Mapping[str, Capabilities]):
    """Every known channel's capabilities by name, each module imported only
    when a message from it first asks (a deployment loads what it uses)."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names

    def __getitem__(self, name: str) -> Capabilities:
        if name not in self.names:
            raise KeyError(name)
        return module(name).CAPABILITIES

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)
