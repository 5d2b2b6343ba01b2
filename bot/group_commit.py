"""Small writes that many sends make at once (a reminder's mark, the id a
platform gave a message, a held reply forgotten), committed together.

Whoever writes while a transaction runs goes into the next one, so a busy
second costs a few transactions instead of one per message, and a quiet one
waits for nobody (a group commit). Each writer awaits its own write; a
batch that fails is tried again one write at a time, so one bad write fails
only its own writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session

from storage.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")
Write = Callable[[Session], Any]


class GroupCommit:
    def __init__(self, db: Database):
        self.db = db
        self._queued: list[tuple[Write, asyncio.Future]] = []
        self._committing: asyncio.Task | None = None

    def write(self, work: Callable[[Session], T]) -> asyncio.Future[T]:
        """Queue `work` for the next transaction; the future has its result."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._queued.append((work, done))
        if self._committing is None or self._committing.done():
            self._committing = loop.create_task(self._commit_queued())
        return done

    async def settled(self) -> None:
        """Wait until every write queued so far is committed (at a stop)."""
        while self._committing is not None and not self._committing.done():
            await self._committing

    async def _commit_queued(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            if len(batch) > 1 and await self._together(batch):
                continue
            for work, done in batch:
                await self._together([(work, done)])

    async def _together(self, batch: list[tuple[Write, asyncio.Future]]) -> bool:
        """Commit the batch in one transaction and settle its writers; False
        if it failed (a single write's writer gets the error)."""
        try:
            # A worker thread: the event loop goes on pacing sends meanwhile.
            results = await asyncio.to_thread(self._commit, [work for work, _ in batch])
        except Exception as error:
            if len(batch) == 1 and not batch[0][1].done():
                batch[0][1].set_exception(error)
            return False
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)
        return True

    def _commit(self, works: list[Write]) -> list[Any]:
        with self.db.transaction() as session:
            return [work(session) for work in works]
