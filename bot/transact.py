"""Where a process's own transactions run: on SQLite on the event loop, one
at a time as its single writer wants (a thread would only add a hop); on
PostgreSQL on the event loop too, through asyncpg, each statement awaited,
so the webhooks and other chats go on while one waits for the server's
round trips and its commit's flush to disk (storage.db: Database.on_loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from storage.db import Database

T = TypeVar("T")


async def transact(db: Database, work: Callable[..., T], *args: object) -> T:
    """`work(*args)`, which opens and commits its own transactions on `db`."""
    if db.is_sqlite:
        return work(*args)
    return await db.on_loop(work, *args)


async def aside(db: Database, work: Callable[..., T], *args: object) -> T:
    """`work(*args)` without holding the event loop up, for writes beside the
    chats (a batch of marks, a sending place): on PostgreSQL awaited on the
    loop as transact does; on SQLite in a worker thread, as its statements
    would otherwise stop the loop while sends wait to be paced."""
    if db.is_sqlite:
        return await asyncio.to_thread(work, *args)
    return await db.on_loop(work, *args)
