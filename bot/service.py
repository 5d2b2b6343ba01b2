"""`python -m bot run`: the channels and the web app in one process."""

from __future__ import annotations

import asyncio
import logging
import re

import uvicorn
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.config import ConfigError, env_secret
from bot.media import MediaStore
from bot.web import build_web

log = logging.getLogger(__name__)

TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
IN_FLIGHT = 8
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts


def telegram_bot(app: App, token: str) -> Bot:
    settings = app.settings.telegram
    return Bot(
        token,
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        # Replies to many chats go out concurrently (paced, at most
        # IN_FLIGHT at once); PTB's default pool of one connection would
        # queue them and time out.
        request=HTTPXRequest(connection_pool_size=IN_FLIGHT),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
    )


def telegram_channel(app: App, token: str) -> TelegramChannel:
    return TelegramChannel(
        dispatcher=app.dispatcher,
        bot=telegram_bot(app, token),
        settings=app.settings.telegram,
        db=app.db,
        catalogue=app.services.catalogue,
        media=MediaStore(app.settings.data_dir / "media"),
        metrics=app.metrics,
        in_flight=IN_FLIGHT,
    )


def telegram_secrets(app: App) -> tuple[str, str]:
    """(bot token, webhook secret), checked before anything connects."""
    token = env_secret("TELEGRAM_BOT_TOKEN")
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
    if not TOKEN_SHAPE.fullmatch(token.get_secret_value()):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then 30+ characters)")
    if app.settings.telegram.mode != "webhook":
        return token.get_secret_value(), ""
    if not app.settings.telegram.webhook_url:
        raise ConfigError("telegram.mode is webhook but telegram.webhook_url is not set")
    secret = env_secret("TELEGRAM_WEBHOOK_SECRET")
    if secret is None or not SECRET_SHAPE.fullmatch(secret.get_secret_value()):
        raise ConfigError("webhook mode needs TELEGRAM_WEBHOOK_SECRET: 1-256 of A-Z a-z 0-9 _ -")
    return token.get_secret_value(), secret.get_secret_value()


async def start_telegram(channel: TelegramChannel, secret: str) -> None:
    """Start the channel; a bad token or an unreachable API is one clear line."""
    try:
        await channel.start(webhook_secret=secret or None)
    except InvalidToken:
        raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN (revoked or mistyped?)") from None
    except NetworkError as error:
        raise ConfigError(f"cannot reach the Telegram Bot API at {channel.settings.base_url}: {error}") from None
    except TelegramError as error:
        raise ConfigError(f"Telegram refused to start the bot: {error}") from None


async def serve(app: App) -> None:
    if not app.settings.telegram.enabled:
        raise ConfigError("no channel is enabled (telegram.enabled is false)")
    token, secret = telegram_secrets(app)
    channel = telegram_channel(app, token)
    await start_telegram(channel, secret)
    web = build_web(
        db=app.db,
        metrics=app.metrics,
        telegram=channel if app.settings.telegram.mode == "webhook" else None,
        telegram_secret=secret,
    )
    server = uvicorn.Server(
        uvicorn.Config(web, host=app.settings.web.host, port=app.settings.web.port, log_level="warning", lifespan="off")
    )
    tasks = [asyncio.create_task(_serve_web(server, app))]
    if app.settings.telegram.mode == "polling":
        tasks.append(asyncio.create_task(channel.poll()))
    log.info("telegram %s mode; web app on %s:%s", app.settings.telegram.mode, app.settings.web.host, app.settings.web.port)
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # surface a failure of either
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await channel.stop()


async def _serve_web(server: uvicorn.Server, app: App) -> None:
    """uvicorn returns on Ctrl-C (it handles the signal) and exits the
    process when it cannot bind; both end the bot, the latter clearly."""
    try:
        await server.serve()
    except SystemExit:
        web = app.settings.web
        raise ConfigError(f"cannot listen on {web.host}:{web.port} (in use?)") from None
