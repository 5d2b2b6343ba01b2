"""How a conversation step is written.

A step is a small async function that gets a Turn and returns one of:
  ask(next_step, *messages)   wait for the person's next message in next_step;
  done(*messages)             the flow is over; the main menu follows;
  goto("flow", draft)         hand over to another flow's start, with a draft.

A flow whose draft is worth keeping declares how each of its waiting steps
is asked again (`questions`); then a detour (help, language) parks the draft
and the person comes back to the same question (handlers/detour.py).

Names say what a function is, one rule for every flow:
  got_<what>     a step, named for the answer it receives (got_nik, got_kind);
  chose_<what>   a step that only offers a menu of actions (chose_topic);
  ask_<what>     returns the Ask for a question (ask_kind, ask_summary);
  <what>_question  builds the message that asks it, with its buttons.
Steps are saved by name with the session, so renaming one strands whoever
waits in it: the dispatcher sends them back to the menu with a friendly line.

Steps run inside the message's database transaction: they call storage
functions and never do network I/O, so the transaction stays short and no
other chat waits behind it. What should happen besides the reply (a notice
to the operators) is an event the step emits; the engine acts on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from handlers.events import Event
from handlers.messages import Capabilities, Choice, Inbound, Outbound, Request
from handlers.office_hours import OfficeHours
from handlers.renewal import RenewalFacts
from handlers.texts import Catalogue, Texts
from storage.chats import OpenChat
from storage.privacy import IdentityHasher


@dataclass(frozen=True)
class FlowSettings:
    """The part of config.yaml flows read; the app fills it in."""

    timezone: str
    max_failed_checks: int  # coverage checks that may fail in one window
    check_window_minutes: int
    officer_max_failed_checks: int  # the same, for a linked village officer's chat
    nik_max_failed_checks: int  # failed checks of one NIK, from any chat, in nik_window_minutes
    nik_window_minutes: int
    office: OfficeHours  # the helpdesk's operators
    renewal: RenewalFacts  # what comes after the cover period


@dataclass
class Services:
    """What steps may use besides the database: settled once at start-up."""

    settings: FlowSettings
    hasher: IdentityHasher
    catalogue: Catalogue
    capabilities: Mapping[str, Capabilities]  # by channel name
    # Whether reminders reach a channel's chats past its reply window now
    # (WhatsApp: its reminder templates approved), by channel name.
    reminders_reach: Callable[[Session, str], bool] = lambda session, channel: True

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
    events: list[Event] = field(default_factory=list)

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

    @property
    def capabilities(self) -> Capabilities:
        """What the channel this message came on can do."""
        return self.services.capabilities[self.inbound.channel]

    def emit(self, event: Event) -> None:
        self.events.append(event)

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
    draft: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resume:
    """Back to a parked draft: `flow` waits in `step` again, its question
    asked anew (in the chat's language of now), after `before`."""

    flow: str
    step: str
    draft: Mapping[str, Any]
    before: tuple[Outbound, ...] = ()


Result = Ask | Done | Goto | Resume
# A coroutine that never suspends: it runs inside the message's transaction
# (on PostgreSQL in a worker thread, without an event loop), so it computes
# and uses turn.db, and waits on nothing; one that waits fails like a bug.
Step = Callable[[Turn], Awaitable[Result]]
Home = Callable[[Turn, str], Ask]  # the menu, under a header line


def ask(step: Step, *messages: Outbound) -> Ask:
    if not messages:
        raise ValueError("ask() must say something: a silent bot looks broken")
    return Ask(step, messages)


def listen(step: Step, *messages: Outbound) -> Ask:
    """Wait in `step`, saying `messages` and possibly nothing at all: the
    person is talking to a human (the helpdesk), who answers from the console."""
    return Ask(step, messages)


def ask_again(step: Step, turn: Turn, problem: str, question: Outbound | None = None, **values: Any) -> Ask:
    """The same step once more, in one message: what was wrong with the
    answer (text key `problem`: nik.length, common.pick_one ...), the way
    back, and the question again with its buttons, so the right answer can
    still be tapped or typed by its number. No re-ask is a dead end."""
    text = f"{turn.t(problem, **values)}\n{turn.t('common.way_back')}"
    if question is None:
        return ask(step, Outbound(text))
    return ask(step, replace(question, text=f"{text}\n{question.text}"))


def asking(step: Step, question: Callable[[Turn], Outbound]) -> Callable[[Turn], Ask]:
    """How `step` is asked again, for Flow.questions."""
    return lambda turn: ask(step, question(turn))


def done(*messages: Outbound) -> Done:
    return Done(messages)


def goto(flow: str, draft: Mapping[str, Any] | None = None) -> Goto:
    """Start `flow`, its draft preset to `draft` (a hand-off) or empty."""
    return Goto(flow, dict(draft or {}))


@dataclass(frozen=True)
class Flow:
    """A conversation: where it starts, the steps it may wait in (by
    function name), and how people reach it: the catalogue keyword list
    keywords.<keywords> anywhere, and a main-menu entry titled by the text
    key `menu` (shown to linked village officers only, if officers_only)."""

    name: str
    start: Step
    steps: Mapping[str, Step] = field(default_factory=dict)
    keywords: str | None = None
    menu: str | None = None
    officers_only: bool = False
    # A draft worth keeping (a report): waits session.draft_idle_minutes, not idle_minutes.
    keeps_draft: bool = False
    # Never expires, with nothing to drop: a person waiting for an operator's answer (the step
    # itself lets go once the operator closes the thread).
    patient: bool = False
    # The main menu's own flow shows itself under a header line.
    home: Home | None = None
    # How each waiting step's question is asked again, by step name: a draft
    # waiting in one of these steps is parked, not dropped, during a detour.
    questions: Mapping[str, Callable[[Turn], Ask | Done]] = field(default_factory=dict)
    # A side trip a parked draft waits through: afterwards "offer" the way
    # back to it (Lanjutkan / Batalkan), or "return" to it at once.
    detour: Literal["offer", "return"] | None = None

    @classmethod
    def of(
        cls,
        name: str,
        start: Step,
        *steps: Step,
        formerly: Mapping[str, Step] | None = None,
        questions: Mapping[Step, Callable[[Turn], Ask | Done]] | None = None,
        **how: Any,
    ) -> Flow:
        """`formerly` keeps a renamed step answering under its old name, for
        the sessions saved before the rename."""
        return cls(
            name,
            start,
            {**(formerly or {}), **{step.__name__: step for step in steps}},
            questions={step.__name__: question for step, question in (questions or {}).items()},
            **how,
        )
