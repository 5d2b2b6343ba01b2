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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

from bot.transact import aside
from storage.db import Database

T = TypeVar("T")
Write = Callable[..., Any]  # (session) -> result, or (session, items) for write_each


@dataclass
class _Queued:
    work: Write
    items: list | None  # write_each's items, else None
    done: asyncio.Future

    def __call__(self, session: Session) -> Any:
        return self.work(session) if self.items is None else self.work(session, self.items)


def failure(done: asyncio.Future) -> BaseException | None:
    """A settled write's error, if it failed: for writers that do not await
    their write, so a failure is logged rather than left unretrieved."""
    return None if done.cancelled() else done.exception()


class GroupCommit:
    def __init__(self, db: Database):
        self.db = db
        self._queued: list[_Queued] = []
        self._collecting: dict[Write, _Queued] = {}  # write_each's entries still in _queued
        self._committing: asyncio.Task | None = None

    def write(self, work: Callable[[Session], T]) -> asyncio.Future[T]:
        """Queue `work` for the next transaction; the future has its result."""
        queued = _Queued(work, None, asyncio.get_running_loop().create_future())
        self._queue(queued)
        return queued.done

    def write_each(self, work: Callable[[Session, list], None], item: Any) -> asyncio.Future[None]:
        """Queue `item` for `work`, which writes many at once (one DELETE for
        many rows): the items queued for the same `work` are given to it together."""
        queued = self._collecting.get(work)
        if queued is None:
            queued = self._collecting[work] = _Queued(work, [], asyncio.get_running_loop().create_future())
            self._queue(queued)
        queued.items.append(item)
        return queued.done

    async def settled(self) -> None:
        """Wait until every write queued so far is committed (at a stop)."""
        while self._committing is not None and not self._committing.done():
            await self._committing

    def _queue(self, queued: _Queued) -> None:
        self._queued.append(queued)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.get_running_loop().create_task(self._commit_queued())

    async def _commit_queued(self) -> None:
        while self._queued:
            # Taken on the event loop: from here on nothing is added to this batch.
            batch, self._queued, self._collecting = self._queued, [], {}
            if len(batch) > 1 and await self._together(batch):
                continue
            for queued in batch:
                await self._together([queued])

    async def _together(self, batch: list[_Queued]) -> bool:
        """Commit the batch in one transaction and settle its writers; False
        if it failed (a single write's writer gets the error)."""
        try:
            # Aside: the event loop goes on pacing sends meanwhile.
            results = await aside(self.db, self._commit, batch)
        except Exception as error:
            if len(batch) == 1 and not batch[0].done.done():
                batch[0].done.set_exception(error)
            return False
        for queued, result in zip(batch, results, strict=True):
            if not queued.done.done():
                queued.done.set_result(result)
        return True

    def _commit(self, batch: list[_Queued]) -> list[Any]:
        with self.db.transaction() as session:
            return [queued(session) for queued in batch]
