"""`python -m bot run`: the enabled channels and the web app in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from collections.abc import Iterator
from datetime import timedelta

import uvicorn

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import BotApi, TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSecrets, whatsapp_client
from bot.config import ConfigError, env_secret
from bot.media import MediaStore
from bot.reminders import Deliverer, Reminders
from bot.scheduler import reminder_scheduler
from bot.web import build_web

log = logging.getLogger(__name__)

TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts


def telegram_api(app: App, token: str) -> BotApi:
    """The Bot API client of the configured library. Each adapter is imported
    only when chosen, so a deployment loads one library, not both."""
    settings = app.settings.telegram
    if settings.library == "aiogram":
        try:
            from bot.channels.telegram_aiogram import AiogramApi
        except ImportError:
            raise ConfigError("telegram.library is aiogram but aiogram is not installed: pip install -e '.[aiogram]'") from None
        return AiogramApi(token, settings)
    from bot.channels.telegram_ptb import PtbApi

    return PtbApi(token, settings)


def channel_parts(app: App) -> dict:
    """What every channel is built from, besides its client and settings."""
    return {
        "dispatcher": app.dispatcher, "db": app.db, "catalogue": app.services.catalogue,
        "media": MediaStore(app.settings.data_dir / "media"), "metrics": app.metrics,
        "max_file_mb": app.settings.max_file_mb,
    }  # fmt: skip


def telegram_channel(app: App, token: str) -> TelegramChannel:
    return TelegramChannel(api=telegram_api(app, token), settings=app.settings.telegram, **channel_parts(app))


def telegram_token() -> str:
    """The bot token, checked before anything connects."""
    token = env_secret("TELEGRAM_BOT_TOKEN")
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
    if not TOKEN_SHAPE.fullmatch(token.get_secret_value()):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then 30+ characters)")
    return token.get_secret_value()


def webhook_secret(app: App) -> str:
    """The webhook's secret token in webhook mode; empty when polling."""
    if app.settings.telegram.mode != "webhook":
        return ""
    if not app.settings.telegram.webhook_url:
        raise ConfigError("telegram.mode is webhook but telegram.webhook_url is not set")
    secret = env_secret("TELEGRAM_WEBHOOK_SECRET")
    if secret is None or not SECRET_SHAPE.fullmatch(secret.get_secret_value()):
        raise ConfigError("webhook mode needs TELEGRAM_WEBHOOK_SECRET: 1-256 of A-Z a-z 0-9 _ -")
    return secret.get_secret_value()


@contextlib.contextmanager
def telegram_errors(channel: TelegramChannel) -> Iterator[None]:
    """A bad token or an unreachable API at start is one clear line."""
    api = channel.api
    try:
        yield
    except api.token_error:
        raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN (revoked or mistyped?)") from None
    except api.error as error:
        if api.classify(error).kind in ("transient", "retry_after"):
            raise ConfigError(f"cannot reach the Telegram Bot API at {channel.settings.base_url}: {error}") from None
        raise ConfigError(f"Telegram refused to start the bot: {error}") from None


def whatsapp_secrets(app: App) -> WhatsAppSecrets:
    """The three WhatsApp secrets and the phone number id, or one clear line."""
    names = ("WHATSAPP_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")
    values = {name: env_secret(name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise ConfigError(f"whatsapp.enabled is true but {', '.join(missing)} not set in the environment")
    if not app.settings.whatsapp.phone_number_id:
        raise ConfigError("whatsapp.enabled is true but whatsapp.phone_number_id is not set")
    token, app_secret, verify_token = (values[name].get_secret_value() for name in names)
    return WhatsAppSecrets(token, app_secret, verify_token)


def whatsapp_channel(app: App, secrets: WhatsAppSecrets) -> WhatsAppChannel:
    client = whatsapp_client(app.settings.whatsapp, secrets.token)
    return WhatsAppChannel(client=client, settings=app.settings.whatsapp, clock=app.clock, **channel_parts(app))


async def serve(app: App) -> None:
    settings = app.settings
    if not (settings.telegram.enabled or settings.whatsapp.enabled):
        raise ConfigError("no channel is enabled (telegram.enabled and whatsapp.enabled are both false)")
    # Every secret is checked before anything connects or listens.
    token, secret = (telegram_token(), webhook_secret(app)) if settings.telegram.enabled else ("", "")
    wa_secrets = whatsapp_secrets(app) if settings.whatsapp.enabled else None
    telegram = telegram_channel(app, token) if settings.telegram.enabled else None
    whatsapp = whatsapp_channel(app, wa_secrets) if wa_secrets else None
    if telegram is not None:
        with telegram_errors(telegram):
            await telegram.start(webhook_secret=secret or None)
    if whatsapp is not None:
        await whatsapp.recover()  # what was stored before the last stop
    channels = {name: channel for name, channel in (("telegram", telegram), ("whatsapp", whatsapp)) if channel}
    keep = timedelta(days=settings.retention.processed_days)
    scheduler = reminder_scheduler(reminders_for(app, channels), app.clock, db=app.db, keep_processed=keep)
    web = build_web(
        db=app.db,
        metrics=app.metrics,
        telegram=telegram if settings.telegram.mode == "webhook" else None,
        telegram_secret=secret,
        whatsapp=whatsapp,
        whatsapp_secrets=wa_secrets,
    )
    server = uvicorn.Server(
        uvicorn.Config(web, host=settings.web.host, port=settings.web.port, log_level="warning", lifespan="off")
    )
    tasks = [asyncio.create_task(_serve_web(server, app))]
    if telegram is not None and settings.telegram.mode == "polling":
        tasks.append(asyncio.create_task(telegram.poll()))
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
        for channel in (telegram, whatsapp):
            if channel is not None:
                await channel.stop()


def reminders_for(app: App, channels: dict[str, Deliverer]) -> Reminders:
    return Reminders(
        db=app.db,
        settings=app.settings.reminders,
        zone=app.services.zone,
        catalogue=app.services.catalogue,
        channels=channels,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )


async def sending_channels(app: App, console: ConsoleChannel) -> dict[str, Deliverer]:
    """The channels `reminders send` can reach from the command line: the
    console always, Telegram and WhatsApp when enabled with their secrets."""
    channels: dict[str, Deliverer] = {"console": console}
    # Sending needs only the token, not the webhook secret; without a token,
    # Telegram's reminders wait for a process that has one.
    if app.settings.telegram.enabled and env_secret("TELEGRAM_BOT_TOKEN"):
        telegram = telegram_channel(app, telegram_token())
        with telegram_errors(telegram):
            await telegram.api.open()
        channels["telegram"] = telegram
    if app.settings.whatsapp.enabled:
        channels["whatsapp"] = whatsapp_channel(app, whatsapp_secrets(app))
    return channels


async def _serve_web(server: uvicorn.Server, app: App) -> None:
    """uvicorn returns on Ctrl-C (it handles the signal) and exits the
    process when it cannot bind; both end the bot, the latter clearly."""
    try:
        await server.serve()
    except SystemExit:
        web = app.settings.web
        raise ConfigError(f"cannot listen on {web.host}:{web.port} (in use?)") from None
