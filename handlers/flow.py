"""How a conversation step is written.

A step is a small async function named for what it receives (`got_nik`). It
gets a Turn and returns one of:
  ask(next_step, *messages)  wait for the person's next message in next_step;
  done(*messages)            the flow is over; the main menu follows;
  goto("flow")               hand over to another flow's start.

Steps run inside the message's database transaction: they call storage
functions and never do network I/O, so the transaction stays short and no
other chat waits behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.config import Settings
from bot.messages import Choice, Inbound, Outbound, Request
from handlers.parse import Invalid
from handlers.texts import Catalogue, Texts
from storage.chats import OpenChat
from storage.privacy import IdentityHasher


@dataclass
class Services:
    """What steps may use besides the database: settled once at start-up."""

    settings: Settings
    hasher: IdentityHasher
    catalogue: Catalogue

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)


@dataclass
class Turn:
    inbound: Inbound
    chat: OpenChat
    data: dict[str, Any]
    db: Session
    now: datetime
    services: Services
    choice: str | None = None

    @property
    def t(self) -> Texts:
        """Follows the chat's language, so a switch applies from the next line on."""
        return self.services.catalogue[self.chat.language]

    @property
    def text(self) -> str:
        return self.inbound.text.strip()

    @property
    def today(self) -> date:
        return self.now.astimezone(self.services.zone).date()

    def say(self, key: str, **values: Any) -> Outbound:
        return Outbound(self.t(key, **values))

    def question(self, key: str, choices: Iterable[tuple[str, str]], **values: Any) -> Outbound:
        """A message with buttons; each choice is (id, text key of its title)."""
        return Outbound(
            self.t(key, **values),
            choices=tuple(Choice(id=cid, title=self.t(title)) for cid, title in choices),
        )

    def request(self, key: str, kind: Literal["contact", "location"], **values: Any) -> Outbound:
        """A message asking for the person's own number or location, with a
        button for it where the platform has one (label: text key request.<kind>)."""
        return Outbound(self.t(key, **values), request=Request(kind, self.t(f"request.{kind}")))

    def since(self, minutes: int) -> datetime:
        return self.now - timedelta(minutes=minutes)


@dataclass(frozen=True)
class Ask:
    step: Callable[[Turn], Awaitable[Ask | Done | Goto]]
    messages: tuple[Outbound, ...]


@dataclass(frozen=True)
class Done:
    messages: tuple[Outbound, ...]


@dataclass(frozen=True)
class Goto:
    flow: str


Result = Ask | Done | Goto
Step = Callable[[Turn], Awaitable[Result]]


def ask(step: Step, *messages: Outbound) -> Ask:
    if not messages:
        raise ValueError("ask() must say something: a silent bot looks broken")
    return Ask(step, messages)


def ask_again(step: Step, turn: Turn, problem: Invalid, topic: str) -> Ask:
    """The same step once more, saying what was wrong with the answer (text
    key <topic>.<reason>: nik.length, date.format ...) and the way back."""
    return ask(step, turn.say(f"{topic}.{problem.reason}"), turn.say("common.way_back"))


def done(*messages: Outbound) -> Done:
    return Done(messages)


def goto(flow: str) -> Goto:
    return Goto(flow)


@dataclass(frozen=True)
class Flow:
    """A conversation: where it starts and the steps it may wait in. Steps are
    stored by function name, so renaming one strands sessions waiting in it;
    the dispatcher sends those back to the menu."""

    name: str
    start: Step
    steps: Mapping[str, Step] = field(default_factory=dict)
    # A draft worth keeping (a report): waits session.draft_idle_minutes, not idle_minutes.
    keeps_draft: bool = False

    @classmethod
    def of(cls, name: str, start: Step, *steps: Step, keeps_draft: bool = False) -> Flow:
        return cls(name, start, {step.__name__: step for step in steps}, keeps_draft)
