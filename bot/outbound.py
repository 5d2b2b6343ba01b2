"""The outbound layer: whether a message may go to a chat, and how, is
decided here once for every message the bot sends (a reply, a notice, a
reminder), and handed to the channel with the message. Channels then only
render and call their platform.

The policy, as goflow's CheckSendable: on a channel with a reply window
(WhatsApp's 24 hours) a message goes as written inside the window; outside
it, as its approved template if the channel has one, else not at all, with
the reason recorded. A chat the platform called unreachable gets nothing.
What the outbox sends is also checked for consent, a roster change and a
later stage (`untimely`); quiet hours are the calendar's (bot/reminder_plan.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from bot.channel_records import ChannelRecords
from bot.channels import Channel
from bot.group_commit import GroupCommit, failure
from bot.metrics import Metrics
from bot.transact import aside
from bot.types import Clock, Delivery, Reply, Sendable
from handlers.messages import Inbound, Outbound
from storage import outbox, replies
from storage.chats import Addressee, addressee
from storage.db import Database
from storage.renewal import Decision as RenewalDecision
from storage.renewal import RenewalDigest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Facts:
    """What the drainer reads once per claimed batch to judge and word its rows."""

    people: dict[int, tuple[str, date]]  # participant -> (name, cover end now)
    consenting: set[tuple[int, int]]  # (chat, participant) with consent on
    digests: dict[int, outbox.Digest]  # outbox id -> the officer's digest as it stands
    renewal: RenewalDecision  # the regency's decision, as reminders word it
    renewal_digests: dict[int, RenewalDigest]  # outbox id -> a village's renewal as it stands


def untimely(row: outbox.Claimed, facts: Facts, now: datetime) -> str | None:
    """Why a claimed outbox row must not go out now, if it must not."""
    if not row.chat_active:
        return "the chat cannot be reached"
    if row.kind in (outbox.NOTICE, outbox.ANSWER):
        return None  # nothing else makes a notice or an answer untimely
    if row.kind == outbox.DIGEST and row.id not in facts.digests:
        return "no longer a village officer's chat"
    if row.kind == outbox.RENEWAL_DIGEST and row.id not in facts.renewal_digests:
        return "no longer a village officer's chat"
    if row.kind in outbox.FOLLOWED:
        if (row.chat_pk, row.participant_id) not in facts.consenting:
            return "consent withdrawn"
    if row.kind in outbox.ABOUT_A_COVER:
        if facts.people.get(row.participant_id, ("", None))[1] != row.cover_end:
            return "the roster changed this cover's end"
    if row.stale_at <= now:
        return "stale: a later stage took over"
    return None


@dataclass(frozen=True)
class Decision:
    how: Sendable
    language: str  # the chat's, for the channel's own words (WhatsApp's list button)


@dataclass(frozen=True)
class Waiting:
    """Not now: its template is under review; the outbox tries again later."""

    reason: str


def decide(channel: Channel, who: Addressee | None, message: Outbound, now: datetime) -> Decision | Waiting | str:
    """How `message` may go to a chat (`who` as stored), why it must wait,
    or why it may not go at all."""
    if who is None or not who.active:
        return "chat unknown or unreachable"
    hours = channel.capabilities.reply_window_hours
    if hours is None or (who.last_inbound_at is not None and now - who.last_inbound_at < timedelta(hours=hours)):
        return Decision("free", who.language)
    readiness = channel.template(message.template.key, who.language) if message.template else "missing"
    if readiness == "ready":
        return Decision("template", who.language)
    if readiness == "pending":
        return Waiting(f"outside the {hours}-hour window; its template awaits the platform's review")
    return f"outside the {hours}-hour window and no template for this message"


class Sending:
    """Replies go out through here: queued on their channel, and forgotten by
    the database (pending_replies) once out. What a crash or a stop left
    unsent is taken up again by `resend`. A process holding `queue_limit`
    replies not yet out takes no new message in (`room`): a burst waits at
    the platform, not in this process's memory."""

    def __init__(
        self,
        *,
        db: Database,
        writes: GroupCommit,
        clock: Clock,
        metrics: Metrics,
        default_language: str,
        resend_after: timedelta,
        queue_limit: int,
    ):
        self.db = db
        self.writes = writes
        self.clock = clock
        self.metrics = metrics
        self.default_language = default_language
        self.resend_after = resend_after
        self.queue_limit = queue_limit
        # Held replies this process has queued, until the database has
        # forgotten them: one sent but not yet forgotten is not lost either.
        self._holding: set[int] = set()
        self._forgotten_meanwhile: set[int] | None = None  # while `resend` reads
        self._answering = 0  # messages let in whose replies are not queued yet
        self._waiting_for_room: deque[asyncio.Future] = deque()

    def _decide(
        self, channel: Channel, chat_id: str, message: Outbound, now: datetime, who: Addressee | None
    ) -> Decision | Waiting | str:
        if channel.capabilities.reply_window_hours is None:
            # Nothing to check against the chat row: a reply goes as written.
            return Decision("free", self.default_language)
        if who is None:
            with self.db.transaction() as session:
                who = addressee(session, channel=channel.name, chat_id=chat_id)
        return decide(channel, who, message, now)

    def submit(
        self,
        channel: Channel,
        chat_id: str,
        message: Outbound,
        *,
        answering: Inbound | None = None,
        held: int | None = None,
        who: Addressee | None = None,
    ) -> None:
        """Queue a message for a chat, if it may go; never waits for the
        platform. `held`: the pending_replies row to forget once it is out.
        `who`: the chat as known (a reply's, from its message's transaction;
        a WhatsApp reply read it again in a transaction of its own, 10% of
        the bot's CPU); read here when not given."""
        decision = self._decide(channel, chat_id, message, self.clock(), who)
        if isinstance(decision, Waiting):  # a reply cannot wait for a review
            decision = decision.reason
        if isinstance(decision, str):
            # Recorded in the next group commit: a reply is not held up by its bookkeeping.
            self._skipped(channel, chat_id, decision).add_done_callback(_log_unrecorded)
            self._out(held)
            return
        finished = None
        if held is not None:
            self._holding.add(held)
            finished = partial(self._out, held)
        channel.submit(
            chat_id, message, decision.how, language=decision.language, answering=answering, finished=finished
        )

    def replier(self, channel: Channel, inbound: Inbound) -> Reply:
        """How the engine's replies to `inbound` go out: queued, never awaited."""

        async def reply(message: Outbound, held: int | None, who: Addressee | None) -> None:
            self.submit(channel, inbound.chat_id, message, answering=inbound, held=held, who=who)

        return reply

    async def room(self) -> None:
        """Wait until this process has fewer than `queue_limit` messages in
        hand: replies not yet out, and messages let in and not yet answered.
        A channel waits here before it takes a message in, so the platform
        keeps the rest meanwhile (it redelivers what is not acknowledged).
        Messages let in together may pass the limit by as many as the
        platform sends at once."""
        while len(self._holding) + self._answering >= self.queue_limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting_for_room.append(waiter)
            await waiter

    @contextmanager
    def answering(self) -> Iterator[None]:
        """A message let in is in hand until its replies are queued (from
        then on they are)."""
        self._answering += 1
        try:
            yield
        finally:
            self._answering -= 1
            self._make_room()

    def _make_room(self) -> None:
        while self._waiting_for_room and len(self._holding) + self._answering < self.queue_limit:
            if not (waiter := self._waiting_for_room.popleft()).done():
                waiter.set_result(None)

    async def resend(self, channels: Mapping[str, Channel]) -> int:
        """Keep the replies this process holds its own for another
        `resend_after`, however slowly its queue goes (a process that dies
        stops renewing them); then queue again the held replies that nobody
        sent in time (a process crashed or stopped with them queued); how many."""
        now, queued = self.clock(), 0
        if self._holding:
            await aside(self.db, self._renew, list(self._holding), now + self.resend_after)
        for channel in channels.values():
            self._forgotten_meanwhile = set()
            try:
                unsent = await aside(self.db, self._take_up, channel.name, now)
            finally:
                forgotten, self._forgotten_meanwhile = self._forgotten_meanwhile, None
            for row in unsent:
                # Still queued here, or forgotten since the rows were read:
                # a slow queue, not a lost reply.
                if row.id not in self._holding and row.id not in forgotten:
                    self.submit(channel, row.chat_id, Outbound.from_json(row.body), held=row.id)
                    queued += 1
        if queued:
            log.warning("queued again %d repl(ies) a stopped process had not sent", queued)
        return queued

    def _renew(self, ids: list[int], due_at: datetime) -> None:
        with self.db.transaction() as session:
            replies.renew(session, ids, due_at=due_at)

    def _take_up(self, channel: str, now: datetime) -> list[replies.Unsent]:
        with self.db.transaction() as session:
            return replies.take_up(session, channel=channel, now=now, lease=self.resend_after)

    def _out(self, held: int | None) -> asyncio.Future:
        """A held reply is out: forget it; the future completes once forgotten.
        Replies going out meanwhile are forgotten in one transaction (a group
        commit), so bookkeeping keeps up with any rate."""
        forgotten = asyncio.get_running_loop().create_future()
        if held is None:
            forgotten.set_result(None)
            return forgotten
        self.writes.write_each(replies.forget, held).add_done_callback(partial(self._forgotten, held, forgotten))
        return forgotten

    def _forgotten(self, held: int, forgotten: asyncio.Future, forgetting: asyncio.Future) -> None:
        """Whatever became of the DELETE: the reply is out, and the sender must
        go on. If the database could not forget it, the next `resend` sends it again."""
        if (error := failure(forgetting)) is not None:
            log.error("could not forget a sent reply: %s", error)
        self._holding.discard(held)
        if self._forgotten_meanwhile is not None:
            self._forgotten_meanwhile.add(held)
        self._make_room()
        if not forgotten.done():
            forgotten.set_result(None)

    async def flush(self) -> None:
        """Wait until every reply that is out has been forgotten (at a stop)."""
        await self.writes.settled()

    async def deliver(
        self, channel: Channel, chat_id: str, who: Addressee, message: Outbound, *, now: datetime
    ) -> Delivery:
        """Send and wait for the outcome (the outbox marks each row by it).
        `who`: the chat as the drainer claimed it. `now` decides the window:
        the drainer's time, which an operator rehearsing December with --now
        sets ahead."""
        decision = decide(channel, who, message, now)
        if isinstance(decision, Waiting):
            return Delivery("waiting", detail=decision.reason)
        if isinstance(decision, str):
            await self._skipped(channel, chat_id, decision)
            return Delivery("skipped", detail=decision)
        return await channel.deliver(chat_id, message, decision.how, language=decision.language)

    def _skipped(self, channel: Channel, chat_id: str, reason: str) -> asyncio.Future:
        log.info("%s: not sending to a chat: %s", channel.name, reason)
        self.metrics.errors.labels(channel.name, "skipped").inc()
        return ChannelRecords(channel.name, self.db, self.clock, self.writes).sent(chat_id, "skipped", detail=reason)


def _log_unrecorded(recording: asyncio.Future) -> None:
    if (error := failure(recording)) is not None:
        log.error("could not record a skipped message: %s", error)
