"""The web app: platform webhooks, /healthz and /metrics (Starlette, ASGI).

A webhook answers 200 only once the update is committed (or was seen
before); on a failure it answers 500 so the platform delivers it again,
and the stored message key makes that safe.
"""

from __future__ import annotations

import hmac
import json
import logging

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.channels.telegram import TelegramChannel
from bot.dispatcher import Outcome
from bot.metrics import Metrics
from storage.db import Database

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def build_web(
    *, db: Database, metrics: Metrics, telegram: TelegramChannel | None = None, telegram_secret: str = ""
) -> Starlette:
    async def healthz(_: Request) -> Response:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health check: database unavailable: %s", error)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    routes = [Route("/healthz", healthz), Route("/metrics", prometheus)]
    if telegram is not None:
        routes.append(Route(telegram.settings.webhook_path, _telegram_webhook(telegram, telegram_secret), methods=["POST"]))
    return Starlette(routes=routes)


def _telegram_webhook(channel: TelegramChannel, secret: str):
    expected = secret.encode()

    async def receive(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), expected):
            return Response(status_code=401)
        update = _parse_update(await request.body(), channel)
        if update is None:
            return Response()  # 200: Telegram must stop redelivering garbage
        try:
            outcome = await channel.handle(update)
        except Exception:
            log.exception("telegram update %s failed; asking for redelivery", update.update_id)
            return Response(status_code=500)
        return Response(status_code=500 if outcome is Outcome.FAILED else 200)

    return receive


def _parse_update(body: bytes, channel: TelegramChannel) -> Update | None:
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("no update_id")
        return Update.de_json(data, channel.bot)
    except Exception as error:  # PTB raises whatever a malformed field causes
        log.warning("telegram webhook: ignoring a body that is not an update (%s)", type(error).__name__)
        return None
