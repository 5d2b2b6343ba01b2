"""The web app: platform webhooks, /healthz and /metrics (Starlette, ASGI).

A webhook answers 200 only once the update is committed (or was seen
before); on a failure it answers 500 so the platform delivers it again,
and the stored message key makes that safe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.telegram import TelegramChannel
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSecrets
from bot.dispatcher import Outcome
from bot.metrics import Metrics
from storage.db import Database

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SIGNATURE_HEADER = "X-Hub-Signature-256"


def build_web(
    *,
    db: Database,
    metrics: Metrics,
    telegram: TelegramChannel | None = None,
    telegram_secret: str = "",
    whatsapp: WhatsAppChannel | None = None,
    whatsapp_secrets: WhatsAppSecrets | None = None,
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
    if whatsapp is not None and whatsapp_secrets is not None:
        path = whatsapp.settings.webhook_path
        routes.append(Route(path, _whatsapp_handshake(whatsapp_secrets.verify_token), methods=["GET"]))
        routes.append(Route(path, _whatsapp_webhook(whatsapp, whatsapp_secrets.app_secret), methods=["POST"]))
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


def _parse_update(body: bytes, channel: TelegramChannel) -> Any:
    try:
        data = json.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("no update_id")
        return channel.api.parse(data)
    except Exception as error:  # a library raises whatever a malformed field causes
        log.warning("telegram webhook: ignoring a body that is not an update (%s)", type(error).__name__)
        return None


def _whatsapp_handshake(verify_token: str):
    """Meta's subscription check: echo hub.challenge for the right token."""

    async def verify(request: Request) -> Response:
        query = request.query_params
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), verify_token.encode()):
            return PlainTextResponse(query.get("hub.challenge", ""))
        return Response(status_code=403)

    return verify


def _whatsapp_webhook(channel: WhatsAppChannel, app_secret: str):
    key = app_secret.encode()

    async def receive(request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return Response(status_code=401)
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return Response(status_code=403)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError as error:
            log.warning("whatsapp webhook: ignoring a body that is not JSON (%s)", type(error).__name__)
            return Response()  # 200: Meta must stop resending it
        try:
            stored = channel.receive(data)
        except Exception:
            log.exception("whatsapp webhook: could not store a delivery; asking for redelivery")
            return Response(status_code=500)
        channel.handle_later(stored)  # after the commit: a crash from here on loses nothing
        return Response()

    return receive
