"""A bot's limits counted across every process that sends for it. With two
`run` processes on one bot token, or a drainer beside the bot, each paced on
its own would together send at twice the platform's limit, and post to the
operators' group at twice its limit a minute; so on PostgreSQL those places
are rows (storage/pace_places.py), taken with SKIP LOCKED and timed by the
database's clock. Like pacing.SlidingWindow, a call holds its place from its
start until a period after it arrived by (pacing.Trip). SQLite serves one
process, whose own windows are the whole truth there."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial

from sqlmodel import Session

from bot.channels.pacing import Pace, Trip
from bot.group_commit import GroupCommit, failure
from bot.transact import aside
from storage import pace_places
from storage.db import Database

log = logging.getLogger(__name__)

# How long to wait before asking again for a place, at least and at most;
# and how long a place taken by a process that then died stays taken.
SOONEST_ASK, LATEST_ASK = 0.005, 0.5
LEASE_SECONDS = 60.0


class SharedWindow:
    def __init__(self, db: Database, writes: GroupCommit, *, name: str, limit: int, period: float = 1.0):
        self.db = db
        self.writes = writes
        self.name = name  # its places' (pace_places.window_name)
        self.limit = limit
        self.period = period
        self._ensured = False
        # One task of this process asks the database at a time: when a place
        # frees, every waiting task asking at once would make one winner and
        # a storm of statements that slows the winner down.
        self._asking = asyncio.Lock()
        # Set when this process gives a place back: its next taker need not
        # wait for the soonest expiry it was told (a running call's lease).
        self._given = asyncio.Event()

    def idle_for(self) -> float:
        """Its places are rows, not kept here: this process may forget the window at once."""
        return self.period

    @contextlib.asynccontextmanager
    async def place(self, trip: Trip | None = None) -> AsyncIterator[None]:
        async with self._asking:
            place = await self._take()
        try:
            yield
        finally:
            # Given back with the next group commit, not waited for: the
            # place's time is reckoned from the call's arrival when it is written.
            self.writes.write(partial(self._give_back, place=place, trip=trip)).add_done_callback(self._given_back)

    async def _take(self) -> int:
        while True:
            self._given.clear()
            try:
                place, wait = await aside(self.db, self._try_take)
            except Exception:
                # The database is away: sending waits for it rather than
                # going over the platform's limit.
                log.exception("%s: could not take a sending place; trying again", self.name)
                place, wait = None, LATEST_ASK
            if place is not None:
                return place
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._given.wait(), min(max(wait, SOONEST_ASK), LATEST_ASK))

    def _try_take(self) -> tuple[int | None, float]:
        with self.db.transaction() as session:
            if not self._ensured:
                pace_places.ensure(session, window=self.name, limit=self.limit)
            taken = pace_places.take(session, window=self.name, limit=self.limit, lease=LEASE_SECONDS)
        self._ensured = True
        return taken

    def _give_back(self, session: Session, *, place: int, trip: Trip | None) -> None:
        since_arrival = trip.seconds_since_arrival() if trip else 0.0
        pace_places.give_back(session, window=self.name, place=place, period=self.period - since_arrival)

    def _given_back(self, done: asyncio.Future) -> None:
        if (error := failure(done)) is not None:  # its lease frees it instead
            log.error("%s: could not give a sending place back: %s", self.name, error)
        self._given.set()


class SharedWindows:
    """The windows of one channel that every process of the bot shares: the
    overall one, and each group's (a chat's own limit stays per process:
    its replies come from the process that handled its message)."""

    def __init__(self, db: Database, writes: GroupCommit, *, channel: str, pace: Pace):
        self.db = db
        self.writes = writes
        self.channel = channel
        self.pace = pace

    def overall(self) -> SharedWindow:
        return SharedWindow(self.db, self.writes, name=self.channel, limit=self.pace.overall_per_second)

    def group(self, chat_id: str) -> SharedWindow:
        name = f"{self.channel}:group:{chat_id}"
        return SharedWindow(self.db, self.writes, name=name, limit=self.pace.group_per_minute, period=60.0)


def shared_windows(
    db: Database, writes: GroupCommit, *, channel: str, pace: Pace, across_processes: bool
) -> SharedWindows | None:
    """The windows every process of this bot shares, where there can be several."""
    if db.is_sqlite or not across_processes:
        return None
    return SharedWindows(db, writes, channel=channel, pace=pace)
