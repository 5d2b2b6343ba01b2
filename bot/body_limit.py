"""A cap on every request body, as ASGI middleware: a declared length over
the cap is refused before a byte is read, and a body that grows past it
while arriving is cut off there. Either way: 413, and the process never
holds more than the cap of one request."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, larger: Mapping[str, int] | None = None):
        """`larger`: a higher cap under some path prefixes (the console's
        file uploads), the webhooks keeping the small one."""
        self.app = app
        self.limit = limit
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next((cap for prefix, cap in self.larger.items() if scope["path"].startswith(prefix)), self.limit)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self.refuse(scope, receive, send, limit)
            return
        arrived = 0

        async def counted() -> Message:
            nonlocal arrived
            message = await receive()
            if message["type"] == "http.request":
                arrived += len(message.get("body", b""))
                if arrived > limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await self.refuse(scope, receive, send, limit)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = PlainTextResponse(f"request body over {limit:,} bytes", status_code=413)
        await response(scope, receive, send)
