"""Every inbound message, on every channel, goes through Dispatcher.handle:

  per-chat lock -> one transaction [ dedupe -> keyword / resume / menu -> step
  -> save state -> apply the step's events -> hold the replies ] -> commit
  -> send

Sending happens after the commit, so nothing is promised to a person that the
database does not hold, and the replies are held in the same commit until
they are out, so a crash loses none (bot/outbound.py sends them again); it
happens inside the chat's lock, so one chat's replies never overtake each
other.

Steps only compute and use the message's transaction (one that waited on the
network would hold the transaction open meanwhile), so a message's
transaction runs from start to end in one go, where bot/transact.py puts a
process's transactions: on PostgreSQL awaited on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session

from bot.config import Settings
from bot.transact import transact
from bot.types import Clock, Reply
from handlers.detour import PARKED, after_detour, parked_draft, resume
from handlers.events import Event
from handlers.flow import Ask, Flow, Goto, Result, Resume, Services, Step, Turn
from handlers.flows import Flows
from handlers.helpdesk import answers_waiting
from handlers.messages import Inbound, Outbound
from handlers.understand import normalise, resolve_choice
from storage import replies
from storage.chats import Addressee, OpenChat, SavedState, arrive, state_row
from storage.db import Database

log = logging.getLogger(__name__)

# Acts on a step's event inside the message's transaction (bot/notices.py).
React = Callable[[Session, Event, datetime], None]
T = TypeVar("T")
# Each reply with its held row's id, and the chat as the transaction left it.
Answered = tuple[list[tuple[Outbound, int]], Addressee]
# The chat, what to say, and where its conversation waits next (storage/chats.py: state_row), to keep together.
Said = tuple[OpenChat, list[Outbound], dict[str, Any] | None]


class StepFailed(Exception):
    """A step raised: the message's transaction is rolled back whole."""


class Outcome(enum.Enum):
    ANSWERED = "answered"
    DUPLICATE = "duplicate"  # seen before: nothing done, nothing sent
    FAILED = "failed"  # apologised, nothing committed: a redelivery is retried


class StepWaited(RuntimeError):
    """A step awaited something that suspends (the network, a sleep)."""


def run_to_end(step: Awaitable[T]) -> T:
    """A step's result, without an event loop: a step only computes and uses
    the message's transaction, so its coroutine never suspends."""
    running = step.__await__()
    try:
        while True:
            if next(running) is not None:  # a bare yield (sleep(0)) just goes on
                running.close()
                raise StepWaited("a step awaited I/O inside the message's transaction")
    except StopIteration as finished:
        return finished.value


class ChatLocks:
    """One asyncio.Lock per chat, forgotten when nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._users: Counter[Hashable] = Counter()

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


class Dispatcher:
    def __init__(
        self, *, db: Database, flows: Flows, services: Services, settings: Settings, clock: Clock, react: React
    ):
        self.db = db
        self.flows = flows
        self.services = services
        self.settings = settings
        self.clock = clock
        self.react = react
        self._chats = ChatLocks()
        catalogue = services.catalogue
        self._keywords = {
            word: action
            for action in ("cancel", "menu", "greet", "salam", *flows.by_keyword)
            for word in catalogue.keywords(action)
        }

    def with_flows(self, flows: Flows) -> Dispatcher:
        """The same engine running other flows (a test's probe)."""
        return Dispatcher(
            db=self.db,
            flows=flows,
            services=self.services,
            settings=self.settings,
            clock=self.clock,
            react=self.react,
        )

    async def handle(self, inbound: Inbound, send: Reply) -> Outcome:
        async with self._chats.hold((inbound.channel, inbound.chat_id)):
            try:
                answered = await transact(self.db, self._answer_in_transaction, inbound)
            except Exception:
                # Never a stack trace to the person, never silence. The message
                # key was not committed, so a platform redelivery retries it.
                log.exception("handling a %s message failed", inbound.channel)
                texts = self.services.catalogue[self.settings.default_language]
                await send(Outbound(texts("common.error")), None, None)
                return Outcome.FAILED
            if answered is None:
                return Outcome.DUPLICATE
            replies, who = answered
            for reply, held in replies:
                await send(reply, held, who)
            return Outcome.ANSWERED

    def _answer_in_transaction(self, inbound: Inbound) -> Answered | None:
        """Answer `inbound` in one transaction: its dedupe key, the chat's
        new state, what the step set off, and its replies, held until sent."""
        now = self.clock()
        try:
            with self.db.transaction() as db:
                return self._held(db, inbound, self._answer(db, inbound, now), now)
        except StepFailed:
            pass  # all the message did is rolled back; the apology has a transaction of its own
        with self.db.transaction() as db:
            return self._held(db, inbound, self._apologise(db, inbound, now), now)

    def _held(self, db: Session, inbound: Inbound, answer: Said | None, now: datetime) -> Answered | None:
        if answer is None:
            return None
        chat, said, state = answer
        due = now + timedelta(seconds=self.settings.resend_unsent_after_seconds)
        bodies = [message.as_json() for message in said]
        held = replies.hold(
            db, channel=inbound.channel, chat_id=inbound.chat_id, bodies=bodies, due_at=due, state=state
        )
        # Opening the chat made it active and its last message now; a step may have changed its language.
        return list(zip(said, held, strict=True)), Addressee(chat.language, True, now)

    def _apologise(self, db: Session, inbound: Inbound, now: datetime) -> Said | None:
        """A step failed: the message is marked handled and the person is
        back at the menu with an apology, never a trace or silence."""
        opened = self._opened(db, inbound, now)
        if opened is None:
            return None
        chat, _state = opened
        turn = Turn(inbound, chat, {}, db, now, self.services)
        said, result, flow = self._menu(turn, "common.error")
        settled, state = self._settle(turn, result, flow)
        return chat, said + settled, state

    def _answer(self, db: Session, inbound: Inbound, now: datetime) -> Said | None:
        opened = self._opened(db, inbound, now)
        if opened is None:
            return None
        chat, state = opened
        if inbound.refused:
            # The waiting step keeps waiting; only the reason is said.
            return chat, [Outbound(self.services.catalogue[chat.language](f"refused.{inbound.refused}"))], None
        turn = Turn(inbound, chat, dict(state.data) if state else {}, db, now, self.services)
        said = answers_waiting(turn)  # an officer's answer first, in or out of the helpdesk
        routed, result, flow = self._route(turn, state)
        settled, next_state = self._settle(turn, result, flow)
        for event in turn.events:
            self.react(db, event, now)
        return chat, said + routed + settled, next_state

    def _opened(self, db: Session, inbound: Inbound, now: datetime) -> tuple[OpenChat, SavedState | None] | None:
        """The message's key claimed and its chat opened; None when the key was
        claimed before (a redelivery: nothing is done, nothing said)."""
        return arrive(
            db,
            channel=inbound.channel,
            chat_id=inbound.chat_id,
            message_id=inbound.message_id,
            language=self.settings.default_language,
            now=now,
        )

    def _idle_minutes(self, flow: Flow, data: dict) -> int:
        """How long a conversation may wait for the person: longer while a
        report is half-written (a photo can take a while to fetch) or parked."""
        session = self.settings.session
        return (
            session.draft_idle_minutes if flow.keeps_draft or flow.patient or PARKED in data else session.idle_minutes
        )

    def _route(self, turn: Turn, state: SavedState | None) -> tuple[list[Outbound], Result, str]:
        """What this message means: a keyword, an answer to the waiting step,
        or (no usable session) a reason to show the menu; and the flow it
        was answered in."""
        action = None if turn.inbound.choice else self._keywords.get(normalise(turn.inbound.text))
        menu = self.flows.menu.name
        if action in ("cancel", "menu"):
            lines = ["common.cancelled"] if action == "cancel" else []
            if self._draft(state, turn.now):
                lines.append("common.draft_dropped")  # say what leaving a half-written report loses
            return self._menu(turn, *lines)
        if action in ("greet", "salam"):
            said = [Outbound(turn.t("menu.salam"))] if action == "salam" else []
            return said, self._run(self.flows.menu.start, turn), menu
        if action is not None:
            said, result = self._leave_for(turn, self.flows.by_keyword[action], self._parked(state, turn.now))
            return said, result, menu
        if state is None:
            # A new chat's first message is read like an answer to the menu it
            # has not seen yet ("cek", "2", "Lapor kejadian"); the menu's start
            # greets whoever said something else.
            turn.choice = resolve_choice(turn.inbound, self._menu_choices(turn), self.services.catalogue.answers)
            return [], self._run(self.flows.menu.start, turn), menu
        flow = self.flows.by_name.get(state.flow)
        # A patient flow (a helpdesk thread) waits for as long as it is open.
        if state.flow != menu and state.expires_at <= turn.now and not (flow and flow.patient):
            return self._menu(turn, "common.expired")
        step = flow.steps.get(state.step) if flow else None
        if step is None:
            log.warning("session in unknown step %s.%s; back to the menu", state.flow, state.step)
            return self._menu(turn, "common.lost")
        turn.choice = resolve_choice(turn.inbound, state.choices, self.services.catalogue.answers)
        return [], self._run(step, turn), state.flow

    def _menu_choices(self, turn: Turn) -> list[list[str]]:
        """The (id, title) of the menu's choices as this chat would be offered them."""
        if self.flows.menu.home is None:
            return []
        question = self.flows.home(turn, "").messages[-1]
        return [[choice.id, choice.title] for choice in question.choices]

    def _parked(self, state: SavedState | None, now: datetime) -> dict | None:
        """The draft this session would take along on a detour: one parked
        already, or the one its flow can come back to."""
        if state is None or state.expires_at <= now:
            return None
        if PARKED in state.data:
            return state.data[PARKED]
        flow = self.flows.by_name.get(state.flow)
        return flow and parked_draft(flow, state.step, state.data)

    def _draft(self, state: SavedState | None, now: datetime) -> bool:
        """Whether leaving this session drops a half-written report."""
        if state is None or state.expires_at <= now or not state.data:
            return False
        flow = self.flows.by_name.get(state.flow)
        return PARKED in state.data or (flow is not None and flow.keeps_draft)

    def _leave_for(self, turn: Turn, target: str, parked: dict | None) -> tuple[list[Outbound], Result]:
        """Go to flow `target` with a draft parked (or not): back to the
        draft if `target` is its flow, along with it on a detour, and else
        saying that it is dropped."""
        if parked is None:
            return [], Goto(target)
        if parked["flow"] == target:
            return [], resume(parked)
        if self.flows.by_name[target].detour:
            return [], Goto(target, {PARKED: parked})
        return [Outbound(turn.t("common.draft_dropped"))], Goto(target)

    def _menu(self, turn: Turn, *lead: str) -> tuple[list[Outbound], Result, str]:
        """Back to the menu, after a line saying why (if there is a why)."""
        lines = [Outbound("\n".join(turn.t(key) for key in lead))] if lead else []
        return lines, self.flows.home(turn, turn.t("menu.question")), self.flows.menu.name

    def _run(self, step: Step, turn: Turn) -> Result:
        """Run a step. A bug in it (or a wait on I/O) rolls back all the
        message did (no savepoint per step: most steps write nothing, and
        SAVEPOINT and RELEASE had cost more than SQLite's own work), then
        _answer_in_transaction apologises in a transaction of its own."""
        try:
            return run_to_end(step(turn))  # one that waits fails here like any other bug
        except Exception as error:
            log.exception("step %s failed", step.__qualname__)
            raise StepFailed(step.__qualname__) from error

    def _settle(self, turn: Turn, result: Result, flow_name: str) -> tuple[list[Outbound], dict[str, Any]]:
        """Follow hand-offs to the step the person is asked in next: what is
        said on the way, and the session there, to save with the replies."""
        said: list[Outbound] = []
        while not isinstance(result, Ask):
            parked = turn.data.get(PARKED)
            if isinstance(result, Goto) and parked and PARKED not in result.draft:
                # A detour's own way onward ("Lapor kejadian" from help).
                lines, result = self._leave_for(turn, result.flow, parked)
                said += lines
                turn.data = {}
            elif isinstance(result, Goto):
                flow_name, turn.data, turn.choice = result.flow, dict(result.draft), None
                result = self._run(self.flows.by_name[result.flow].start, turn)
            elif isinstance(result, Resume):
                said += result.before
                flow_name, turn.data, turn.choice = result.flow, dict(result.draft), None
                result = self.flows.by_name[flow_name].questions[result.step](turn)
            elif parked and self.flows.by_name[flow_name].detour:
                said += result.messages
                result = after_detour(self.flows.by_name[flow_name], parked)
            else:
                said += result.messages
                flow_name, turn.data = self.flows.menu.name, {}
                result = self.flows.home(turn, turn.t("menu.again"))
        said += result.messages
        offered = next((m.choices for m in reversed(result.messages) if m.choices), ())
        flow = self.flows.by_name[flow_name]
        if flow.steps.get(result.step.__name__) is not result.step:
            # Saved, it would strand the person; failing here rolls the message back.
            raise LookupError(f"{result.step.__qualname__} is not a step of the {flow.name} flow")
        state = state_row(
            chat=turn.chat,
            flow=flow.name,
            step=result.step.__name__,
            data=turn.data,
            choices=[[choice.id, choice.title] for choice in offered],
            now=turn.now,
            expires_at=turn.now + timedelta(minutes=self._idle_minutes(flow, turn.data)),
        )
        return said, state
