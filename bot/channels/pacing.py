"""One outbound path for a platform: per-chat queues, sliding-window pacing,
retries. Channel-neutral: a channel says how fast it may go and how to read
its client's errors (classify); the rest is the same for Telegram and WhatsApp.

Each chat with something to send gets its own task, so a chat that must wait
(its own pace, a 429 retry_after, a backoff) never holds up another chat, and
submitting never waits: the dispatcher hands replies over and returns.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.metrics import Metrics
from bot.types import Delivery, Finished

log = logging.getLogger(__name__)


@dataclass
class Trip:
    """One platform call on its way. The platform counts a call when its
    request arrives, which is some time after it was written to the network,
    not when its answer comes back; the HTTP client tells when the request
    was written (note_written), so the answer's trip back need not be counted.
    A client that does not tell leaves the answer's moment, which is safe."""

    clock: Callable[[], float]
    jitter: float  # how much later than others a request written after them may arrive
    written: float | None = None

    def arrived_by(self) -> float:
        now = self.clock()
        return now if self.written is None else min(now, self.written + self.jitter)

    def seconds_since_arrival(self) -> float:
        return self.clock() - self.arrived_by()


# The call this task is making. The channel libraries (python-telegram-bot,
# pywa) make the HTTP request themselves, several chats' tasks at once; only
# the task's own context reaches from the paced sender to the client's hook.
_trip: ContextVar[Trip | None] = ContextVar("payung_trip", default=None)


def note_written() -> None:
    """The HTTP client has written (a part of) the request of the paced call
    this task is making; called from the client's own tracing, after any
    connection setup (bot/channels/api_transport.py)."""
    trip = _trip.get()
    if trip is not None:
        trip.written = trip.clock()


class SlidingWindow:
    """At most `limit` calls in any `period` seconds, as the platform counts
    them. A call reaches the platform between its start and the moment its
    request was written plus the network's jitter (Trip), and a busy loop
    can delay the writing; so a call holds its place from its start until
    `period` after it arrived by, and a new one starts only when fewer than
    `limit` places are held. Unlike a token bucket this never lets a burst
    straddle two windows."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.period = period
        self.clock = clock
        self._running = 0
        self._arrived: list[float] = []  # sorted: concurrent calls arrive in any order
        self._changed = asyncio.Condition()

    def idle_for(self) -> float:
        if self._running:
            return 0.0
        return self.clock() - self._arrived[-1] if self._arrived else self.period

    @contextlib.asynccontextmanager
    async def place(self, trip: Trip | None = None) -> AsyncIterator[None]:
        async with self._changed:
            while True:
                now = self.clock()
                expired = bisect.bisect_right(self._arrived, now - self.period)
                del self._arrived[:expired]
                if self._running + len(self._arrived) < self.limit:
                    self._running += 1
                    break
                # Wait for the oldest place to expire, or for a running call
                # to end (only then is its arrival known).
                timeout = self._arrived[0] + self.period - now if self._arrived else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)
        try:
            yield
        finally:
            async with self._changed:
                self._running -= 1
                bisect.insort(self._arrived, trip.arrived_by() if trip else self.clock())
                self._changed.notify_all()


@dataclass(frozen=True)
class Verdict:
    """How a channel reads a failed send."""

    kind: Literal["retry_after", "transient", "unreachable", "fatal"]
    after: float = 0.0  # seconds, for retry_after


@dataclass(frozen=True)
class Pace:
    overall_per_second: int
    private_per_second: int
    group_per_minute: int
    jitter: float = 0.02  # seconds; see Trip


@dataclass(frozen=True)
class Recipient:
    chat_id: str
    is_group: bool = False


Call = Callable[[], Awaitable[Any]]  # one platform API call, ready to make
AfterSent = Callable[[Any], Awaitable[None]]


@dataclass
class Job:
    send: Call
    # Bookkeeping on send()'s result (WhatsApp records the message id). It
    # runs once the call has given back its places: a database round trip
    # inside them would hold each place longer and lower the rate.
    after_sent: AfterSent | None = None
    # For callers that must know the outcome (the reminder drainer marks
    # each outbox row): resolved with send()'s result, or SendFailed.
    outcome: asyncio.Future | None = None
    # For callers that only need to know it is over (a held reply is
    # forgotten); on success awaited inside the call's in-flight place.
    finished: Finished | None = None

    def settle(self, result: Any = None, failure: BaseException | None = None) -> None:
        if self.finished is not None:  # given up: nothing to wait for
            self.finished()
            self.finished = None
        if self.outcome is None or self.outcome.done():
            return
        if failure is None:
            self.outcome.set_result(result)
        else:
            self.outcome.set_exception(failure)


class SendFailed(Exception):
    def __init__(self, verdict: Verdict, cause: BaseException):
        super().__init__(f"{verdict.kind}: {cause}")
        self.verdict = verdict
        self.cause = cause


class Window(Protocol):
    """Places at a rate: SlidingWindow in this process, or one shared by
    every process of the bot (bot/channels/shared_pace.py)."""

    period: float

    def place(self, trip: Trip | None = None) -> contextlib.AbstractAsyncContextManager[None]: ...

    def idle_for(self) -> float:
        """How long it has held nothing this process would lose by being
        forgotten; a window idle for a whole `period` may be dropped."""
        ...


class Windows(Protocol):
    """Where a sender's overall window and each group's come from: this
    process's own (OwnWindows), or rows every process of the bot shares
    (bot/channels/shared_pace.py)."""

    def overall(self) -> Window: ...

    def group(self, chat_id: str) -> Window: ...


@dataclass(frozen=True)
class OwnWindows:
    """Windows this process keeps alone: the whole truth where it is the
    only one sending for the bot."""

    pace: Pace
    clock: Callable[[], float]

    def overall(self) -> SlidingWindow:
        return SlidingWindow(self.pace.overall_per_second, 1.0, self.clock)

    def group(self, chat_id: str) -> SlidingWindow:
        return SlidingWindow(self.pace.group_per_minute, 60.0, self.clock)


class PacedSender:
    def __init__(
        self,
        *,
        channel: str,
        pace: Pace,
        classify: Callable[[BaseException], Verdict],
        on_failure: Callable[[str, SendFailed], Awaitable[None]],
        metrics: Metrics,
        in_flight: int,
        attempts: int = 5,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        shared: Windows | None = None,
    ):
        self.channel = channel
        self.pace = pace
        self.classify = classify
        self.on_failure = on_failure
        self.metrics = metrics
        self.attempts = attempts
        self.max_backoff = max_backoff
        self.clock = clock  # the windows' seconds (a test moves its own)
        self._limits: Windows = shared or OwnWindows(pace, clock)
        self._overall = self._limits.overall()
        # Calls wait here, not in the HTTP client's connection pool, whose
        # bookkeeping grows with every request queued in it.
        self.in_flight = in_flight
        self._in_flight = asyncio.Semaphore(in_flight)
        self._queues: dict[Hashable, deque[Job]] = {}
        self._workers: dict[Hashable, asyncio.Task] = {}
        self._windows: dict[Hashable, Window] = {}

    def submit(self, recipient: Recipient, send: Call, after_sent: AfterSent | None = None) -> None:
        """Queue one platform call for a chat; calls to one chat keep their order."""
        self._enqueue(recipient, Job(send, after_sent))

    def submit_all(
        self,
        recipient: Recipient,
        calls: list[Call],
        after_sent: AfterSent | None = None,
        *,
        finished: Finished | None = None,
    ) -> None:
        """Queue one message's calls; `finished` once the last has been made
        or given up (a stop that leaves them queued does not finish them)."""
        if not calls and finished is not None:
            finished()  # nothing to send: forgotten whenever
        for number, call in enumerate(calls, start=1):
            self._enqueue(recipient, Job(call, after_sent, finished=finished if number == len(calls) else None))

    def deliver(self, recipient: Recipient, send: Call, after_sent: AfterSent | None = None) -> asyncio.Future:
        """Like submit, but the caller can await the outcome: send()'s result,
        or SendFailed once the sender has given up."""
        job = Job(send, after_sent, asyncio.get_running_loop().create_future())
        self._enqueue(recipient, job)
        return job.outcome

    async def deliver_all(
        self,
        recipient: Recipient,
        calls: list[Call],
        message_id: Callable[[Any], Any],
        after_sent: AfterSent | None = None,
    ) -> Delivery:
        """One message's calls in order, each after the last one succeeded, as
        one Delivery: a failed text is not followed by its files. An
        unreachable person is a skip (trying again will not help); any other
        failure may be retried later, the whole message again."""
        result = None
        for call in calls:
            try:
                result = await self.deliver(recipient, call, after_sent)
            except SendFailed as failure:
                state = "skipped" if failure.verdict.kind == "unreachable" else "failed"
                return Delivery(state, detail=f"{failure.verdict.kind}: {failure.cause}"[:500])
        return Delivery("sent", str(message_id(result)))

    def _enqueue(self, recipient: Recipient, job: Job) -> None:
        self._queues.setdefault(recipient, deque()).append(job)
        if recipient not in self._workers:
            self._workers[recipient] = asyncio.create_task(self._work(recipient))

    async def drain(self) -> None:
        """Wait until everything submitted so far has been sent or given up."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self, timeout: float) -> None:
        """Give queued messages `timeout` seconds to go out, then stop; what
        is still queued is logged as not sent."""
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            unsent = sum(len(queue) for queue in self._queues.values())
            log.warning("%s: stopping with %d message(s) unsent", self.channel, unsent)
            for worker in list(self._workers.values()):
                worker.cancel()
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    def _window(self, recipient: Recipient) -> Window:
        if recipient not in self._windows:
            if recipient.is_group:
                self._windows[recipient] = self._limits.group(recipient.chat_id)
            else:
                self._windows[recipient] = SlidingWindow(self.pace.private_per_second, 1.0, self.clock)
        return self._windows[recipient]

    async def _work(self, recipient: Recipient) -> None:
        queue = self._queues[recipient]
        try:
            while queue:
                job = queue[0]
                try:
                    result = await self._deliver(recipient, job)
                    await self._after_sent(job, result)
                    job.settle(result)
                except SendFailed as failure:
                    # Given up: the channel records why (and, for an
                    # unreachable person, marks the chat inactive).
                    self.metrics.errors.labels(self.channel, failure.verdict.kind).inc()
                    await self.on_failure(recipient.chat_id, failure)
                    if failure.verdict.kind == "unreachable":
                        log.info("%s chat unreachable; dropping %d queued message(s)", self.channel, len(queue))
                        for dropped in queue:
                            dropped.settle(failure=failure)
                        queue.clear()
                        break
                    log.warning("%s send given up: %s", self.channel, failure)
                    job.settle(failure=failure)
                queue.popleft()
        finally:
            for unsent in self._queues.pop(recipient, ()):  # cancelled at shutdown
                if unsent.outcome is not None and not unsent.outcome.done():
                    unsent.outcome.cancel()
            del self._workers[recipient]
            self._forget_later(recipient)

    async def _after_sent(self, job: Job, result: Any) -> None:
        if job.after_sent is None:
            return
        try:
            await job.after_sent(result)
        except Exception:  # the message is out; losing its bookkeeping must not stop the queue
            log.exception("%s: bookkeeping after a send failed", self.channel)

    def _forget_later(self, recipient: Recipient) -> None:
        """Drop an idle chat's window once it has emptied: forgetting it any
        sooner would let that chat's next message through too early."""
        window = self._windows.get(recipient)
        if window is None or recipient in self._workers:
            return  # a busy chat's worker calls this again when it ends
        idle_for = window.idle_for()
        if idle_for < window.period:
            asyncio.get_running_loop().call_later(window.period - idle_for, self._forget_later, recipient)
        else:
            del self._windows[recipient]

    async def _deliver(self, recipient: Recipient, job: Job) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception(
                lambda exc: isinstance(exc, SendFailed) and exc.verdict.kind in ("retry_after", "transient")
            ),
            wait=self._wait,
            stop=stop_after_attempt(self.attempts),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                # A free slot first, then the places: a place is held from the
                # moment it is taken, so it must be taken just before the call.
                async with self._in_flight:
                    trip = Trip(self.clock, self.pace.jitter)
                    async with self._window(recipient).place(trip), self._overall.place(trip):
                        started = time.perf_counter()
                        making = _trip.set(trip)
                        try:
                            result = await job.send()
                        except Exception as exc:
                            raise SendFailed(self.classify(exc), exc) from exc
                        finally:
                            _trip.reset(making)
                    self.metrics.send_seconds.labels(self.channel).observe(time.perf_counter() - started)
                    self.metrics.messages_out.labels(self.channel).inc()
                    if job.finished is not None:
                        # The slot is held until the message is forgotten: a
                        # crash repeats at most `in_flight` messages.
                        finished, job.finished = job.finished, None
                        await finished()
        return result

    def _wait(self, state) -> float:
        """Telegram's retry_after when it gives one (this chat's task sleeps;
        other chats go on), else exponential backoff."""
        failure = state.outcome.exception()
        if isinstance(failure, SendFailed) and failure.verdict.kind == "retry_after":
            return failure.verdict.after
        return wait_exponential(multiplier=0.5, max=self.max_backoff)(state)
