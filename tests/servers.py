"""ASGI apps served for real on 127.0.0.1 inside the test's event loop: the
stand-in platform APIs, and Payung's own web app for webhook tests."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import uvicorn


async def serve(app, server: uvicorn.Server | None = None) -> tuple[uvicorn.Server, int]:
    """Run an ASGI app on 127.0.0.1 on a free port (or `server`, configured
    as given), in this event loop."""
    if server is None:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None  # the test runner owns signals
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    server.task = task  # type: ignore[attr-defined]
    return server, server.servers[0].sockets[0].getsockname()[1]


async def stop(server: uvicorn.Server | None) -> None:
    if server is not None:
        server.should_exit = True
        await server.task  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def served(app) -> AsyncIterator[httpx.AsyncClient]:
    """A client for `app`, served for the length of the block."""
    server, port = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        await stop(server)


class Served:
    """An app served for the length of an `async with`; `.client` talks to it."""

    def __init__(self, app):
        self._served = served(app)

    async def __aenter__(self):
        self.client = await self._served.__aenter__()
        return self

    async def __aexit__(self, *exc):
        await self._served.__aexit__(*exc)


async def at_least(count: int, seen: Callable[[], list], what: str, timeout: float = 10.0) -> list:
    """Wait until a stand-in has seen `count` calls; fail saying what it saw."""
    deadline = time.monotonic() + timeout
    while len(seen()) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(seen())} {what}, expected {count}: {seen()}")
        await asyncio.sleep(0.01)
    return seen()


@contextlib.contextmanager
def served_in_thread(app) -> Iterator[str]:
    """An ASGI app on 127.0.0.1 in a thread of its own, for synchronous
    tests (and a browser); the base URL for the length of the block."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
