"""`python -m bot run`: the enabled channels, the scheduler and the web app
in one process."""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import timedelta

import uvicorn
from starlette.types import ASGIApp

from bot.app import App
from bot.channels import Channel, enabled, module
from bot.config import ConfigError, WebSettings
from bot.console.routes import console_site
from bot.scheduler import reminder_scheduler
from bot.web import build_web

log = logging.getLogger(__name__)


def run_service(app: App) -> None:
    """serve() until the process is stopped, on uvloop's event loop where it
    is installed (not on Windows): the sockets and callbacks in C rather than
    Python. With httptools parsing the webhooks' requests (uvicorn picks it
    up when installed), about 7% less of the bot's CPU a message
    (docs/performance.md)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(app))
    else:
        uvloop.run(serve(app))


async def serve(app: App) -> None:
    settings = app.settings
    names = enabled(settings)
    if not names and not settings.console.enabled:
        raise ConfigError(
            f"nothing to run: no channel is enabled ({', '.join(f'{name}.enabled' for name in settings.channels())}"
            " are false) and console.enabled is false"
        )
    if not names:
        log.info("no chat channel is enabled: serving the operators' console only")
    # Every secret is checked (building a channel) before anything connects or listens.
    channels = {name: module(name).plugin(app) for name in names}
    await app.db.open_on_loop()
    for channel in channels.values():
        await channel.start()
    keep = timedelta(days=settings.retention.processed_days)

    async def resend() -> int:  # a coroutine function: APScheduler runs it on the loop
        return await app.sending.resend(channels)

    scheduler = reminder_scheduler(
        app.planner(),
        app.drainer(channels),
        app.clock,
        db=app.db,
        keep_processed=keep,
        resend=resend,
        tell_waiting=app.tell_helpdesk_waiting,
    )
    web = build_web(
        db=app.db,
        metrics=app.metrics,
        channels=channels.values(),
        sites=[console_site(app)] if settings.console.enabled else [],
        max_body_bytes=settings.web.max_body_kb * 1024,
        larger_bodies={"/console/": (settings.max_file_mb + 1) * 1024 * 1024},  # a file an operator attaches
    )
    server = web_server(web, settings.web)
    # What start-up built lives as long as the process: kept out of the
    # collector's sight, each full collection looks only at what came after
    # (about 100 -> 30 ms each, a few a second under load; docs/performance.md).
    gc.freeze()
    tasks = [asyncio.create_task(_serve_web(server, app))]
    tasks += [asyncio.create_task(_run_until_failure(channel)) for channel in channels.values()]
    log.info("web app on %s:%s", settings.web.host, settings.web.port)
    scheduler.start()
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # surface a failure of any
    finally:
        scheduler.shutdown(wait=False)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels.values():
            await channel.stop()
        await app.sending.flush()
        await app.db.leave_loop()


async def _run_until_failure(channel: Channel) -> None:
    """A channel's own work (Telegram's polling); one that has none waits
    here until the process stops, so that only a failure ends the bot."""
    await channel.run()
    await asyncio.Event().wait()


def web_server(web: ASGIApp, settings: WebSettings, *, port: int | None = None) -> uvicorn.Server:
    """uvicorn as Payung runs it: idle connections closed soon, the number
    at once bounded (a flood of slow clients gets 503s, not all the files)."""
    config = uvicorn.Config(
        web,
        host=settings.host,
        port=settings.port if port is None else port,
        log_level="warning",
        lifespan="off",
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=settings.max_connections,
    )
    return uvicorn.Server(config)


async def _serve_web(server: uvicorn.Server, app: App) -> None:
    """uvicorn returns on Ctrl-C (it handles the signal) and exits the
    process when it cannot bind; both end the bot, the latter clearly."""
    try:
        await server.serve()
    except SystemExit:
        web = app.settings.web
        raise ConfigError(f"cannot listen on {web.host}:{web.port} (in use?)") from None
