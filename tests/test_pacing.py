"""The paced sender and its sliding windows, against a clock the test moves:
what the platform would count is the clock's time, not the test's."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.pacing import Pace, PacedSender, Recipient, SendFailed, SlidingWindow, Trip, Verdict
from bot.metrics import Metrics
from tests.telegram_standin import sustained_rate


class MovedClock:
    """Monotonic seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def still_waiting(task: asyncio.Task, for_seconds: float = 0.3) -> bool:
    await asyncio.sleep(for_seconds)
    return not task.done()


async def enter(window: SlidingWindow) -> None:
    async with window.place():
        pass


async def test_a_window_admits_its_limit_then_waits_for_the_platform_clock():
    clock = MovedClock()
    window = SlidingWindow(2, 0.2, clock)
    await enter(window)
    await enter(window)
    third = asyncio.create_task(enter(window))
    # Real time passes, the platform's does not: a third call would make three in one window.
    assert await still_waiting(third)
    clock.now = 0.2
    await asyncio.wait_for(third, 1.0)


async def test_a_long_call_holds_its_place_until_a_period_after_it_ends():
    clock = MovedClock()
    window = SlidingWindow(1, 0.2, clock)
    ended = asyncio.Event()

    async def long_call() -> None:
        async with window.place():
            await ended.wait()

    first = asyncio.create_task(long_call())
    await asyncio.sleep(0)
    clock.now = 5.0  # the call takes five seconds: it may reach the platform at its very end
    ended.set()
    await first
    second = asyncio.create_task(enter(window))
    clock.now = 5.1
    assert await still_waiting(second)
    clock.now = 5.2
    await asyncio.wait_for(second, 1.0)
    assert window.idle_for() == 0.0
    clock.now = 5.5
    assert window.idle_for() == pytest.approx(0.3)


async def test_a_call_whose_request_left_early_holds_its_place_a_period_after_it_arrived_not_after_its_answer():
    clock = MovedClock()
    window = SlidingWindow(1, 1.0, clock)
    trip = Trip(clock, jitter=0.02)
    async with window.place(trip):
        clock.now = 0.01
        trip.written = clock.now  # as the HTTP client's hook notes it
        clock.now = 0.5  # the answer comes back half a second later
    second = asyncio.create_task(enter(window))
    clock.now = 1.02
    assert await still_waiting(second)  # the request may have arrived as late as 0.03
    clock.now = 1.03
    await asyncio.wait_for(second, 1.0)


class Platform:
    """Records calls, failing the ones the test names."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failures: dict[str, list[Exception]] = {}

    def call(self, what: str):
        async def send() -> str:
            self.calls.append(what)
            queued = self.failures.get(what)
            if queued:
                raise queued.pop(0)
            return f"id-{what}"

        return send


class Transient(Exception):
    pass


class Blocked(Exception):
    pass


def classify(error: BaseException) -> Verdict:
    return Verdict("transient") if isinstance(error, Transient) else Verdict("unreachable")


def sender(clock: MovedClock, given_up: list, *, overall: int = 100) -> PacedSender:
    async def on_failure(chat_id: str, failure: SendFailed) -> None:
        given_up.append((chat_id, failure.verdict.kind))

    return PacedSender(
        channel="test",
        pace=Pace(overall, 100, 20),
        classify=classify,
        on_failure=on_failure,
        metrics=Metrics(),
        in_flight=4,
        max_backoff=0.01,
        clock=clock,
    )


async def test_the_overall_limit_counts_every_chat_by_the_platform_clock():
    clock, platform, given_up = MovedClock(), Platform(), []
    paced = sender(clock, given_up, overall=3)
    for chat in range(5):
        paced.submit(Recipient(str(chat)), platform.call(f"chat-{chat}"))
    await asyncio.sleep(0.3)
    assert len(platform.calls) == 3
    clock.now = 1.0
    await asyncio.wait_for(paced.drain(), 2.0)
    assert sorted(platform.calls) == [f"chat-{chat}" for chat in range(5)] and given_up == []


async def test_one_chat_gets_its_messages_in_order_and_a_transient_failure_is_retried():
    clock, platform, given_up = MovedClock(), Platform(), []
    paced = sender(clock, given_up)
    platform.failures["second"] = [Transient("timed out")]
    outcomes = [paced.deliver(Recipient("7"), platform.call(what)) for what in ("first", "second", "third")]
    assert await asyncio.wait_for(asyncio.gather(*outcomes), 2.0) == ["id-first", "id-second", "id-third"]
    assert platform.calls == ["first", "second", "second", "third"] and given_up == []


async def test_an_unreachable_person_is_given_up_once_and_their_queue_dropped():
    clock, platform, given_up = MovedClock(), Platform(), []
    paced = sender(clock, given_up)
    platform.failures["first"] = [Blocked("bot was blocked by the user")]
    outcomes = [paced.deliver(Recipient("8"), platform.call(what)) for what in ("first", "second")]
    results = await asyncio.wait_for(asyncio.gather(*outcomes, return_exceptions=True), 2.0)
    assert all(isinstance(result, SendFailed) for result in results)
    assert platform.calls == ["first"] and given_up == [("8", "unreachable")]


async def test_a_message_of_several_calls_is_one_delivery():
    clock, platform, given_up = MovedClock(), Platform(), []
    paced = sender(clock, given_up)
    sent = await paced.deliver_all(Recipient("9"), [platform.call("text"), platform.call("photo")], str)
    assert (sent.state, sent.platform_message_id) == ("sent", "id-photo")
    platform.failures["text again"] = [Blocked("blocked")]
    skipped = await paced.deliver_all(Recipient("9"), [platform.call("text again"), platform.call("photo")], str)
    assert skipped.state == "skipped" and "unreachable" in skipped.detail
    assert platform.calls == ["text", "photo", "text again"]


async def test_places_shared_through_postgresql_hold_the_limit_for_every_process_together(postgres_url):
    """Two windows, as two processes would have, share one limit of 2 a period."""
    import time

    from bot.channels.shared_pace import SharedWindow
    from bot.group_commit import GroupCommit
    from storage.db import Database

    db = Database(postgres_url)
    db.upgrade()
    try:
        first, second = (SharedWindow(db, GroupCommit(db), name="test", limit=2, period=0.4) for _ in range(2))
        async with first.place(), second.place():
            third = asyncio.create_task(enter(first))
            assert await still_waiting(third, 0.2)  # both places are held while their calls run
            answered = time.monotonic()
        await asyncio.wait_for(third, 2.0)
        assert time.monotonic() - answered >= 0.35  # a period after the answers, by the database's clock

        # A call whose request arrived 0.35 s before its answer frees its place 0.35 s sooner.
        trip = Trip(time.monotonic, jitter=0.0)
        async with first.place(trip), second.place():
            trip.written = time.monotonic()
            await asyncio.sleep(0.35)
            fourth = asyncio.create_task(enter(first))
            answered = time.monotonic()
        await asyncio.wait_for(fourth, 2.0)
        assert time.monotonic() - answered < 0.3
    finally:
        db.dispose()


def test_the_benchmarks_window_to_window_rate_is_fair_to_a_partial_last_window_and_sees_overshoot():
    def bursts(calls: int, per_burst: int, every: float) -> list[float]:
        return [number // per_burst * every + number % per_burst * 0.001 for number in range(calls)]

    # A perfect 60/s limiter: 2,000 calls end in a window of 20, which n / (span + 1 s) counts as whole.
    perfect = bursts(2000, 60, 1.0)
    assert round(len(perfect) / (perfect[-1] - perfect[0] + 1.0) / 60, 2) == 0.98
    assert sustained_rate(perfect, 60) == pytest.approx(60, rel=1e-3)
    assert sustained_rate(bursts(2000, 60, 1.025), 60) == pytest.approx(60 / 1.025, rel=1e-3)
    assert sustained_rate(bursts(2000, 61, 1.0), 60) > 60  # one too many a second shows
