"""Where a process's own transactions run: on SQLite on the event loop, one
at a time as its single writer wants (a thread would only add a hop); on
PostgreSQL in a worker thread, so the event loop, the webhooks and other
chats go on while one waits for the server's round trips and its commit's
flush to disk."""

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
    return await asyncio.to_thread(work, *args)
