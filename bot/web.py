"""The web app: /healthz, /metrics, every enabled channel's webhooks and
the operators' console (Starlette, ASGI). Each channel brings its own routes and checks its own
platform's proof (a secret header, a signature)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.body_limit import BodyLimit
from bot.channels import Channel
from bot.metrics import Metrics
from storage.db import Database

log = logging.getLogger(__name__)


def build_web(
    *,
    db: Database,
    metrics: Metrics,
    channels: Iterable[Channel] = (),
    sites: Iterable[BaseRoute] = (),
    max_body_bytes: int = 1024 * 1024,
    larger_bodies: Mapping[str, int] | None = None,
) -> Starlette:
    """`sites`: whole parts mounted beside the webhooks (the console);
    `larger_bodies`: a higher body cap under some paths (its uploads)."""

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
    for channel in channels:
        routes += channel.routes()
    routes += sites
    return Starlette(routes=routes, middleware=[Middleware(BodyLimit, limit=max_body_bytes, larger=larger_bodies)])
