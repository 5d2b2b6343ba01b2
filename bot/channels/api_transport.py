"""The HTTP transport under the platform clients (python-telegram-bot and
pywa both speak httpx): httpx's interface over aiohttp's client.

httpx's own connection pool costs about 2.4 ms of CPU a call on the 2-core
machine against 0.7 ms through aiohttp (bench/bench_webhooks.py), and at a
platform's rate sending is most of the bot's work. The transport also tells
the paced sender when each request has been written (pacing.note_written),
so a call's place is not held while its answer travels back."""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from bot.channels.pacing import note_written


async def _written(_session: aiohttp.ClientSession, _context: Any, _params: Any) -> None:
    note_written()  # the headers, then each piece of the body: the last one counts


class ApiTransport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as error:
            # httpx-aiohttp calls every failed connection a timeout; a refused
            # one told as "Timed out" would send an operator the wrong way.
            cause = error.__cause__
            if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, TimeoutError):
                raise httpx.ConnectError(str(cause), request=request) from cause
            raise


def api_transport(connections: int) -> ApiTransport:
    """A transport of at most `connections` connections (the channel's in_flight)."""

    def session() -> aiohttp.ClientSession:  # made on the first call, inside the event loop
        tracing = aiohttp.TraceConfig()
        tracing.on_request_headers_sent.append(_written)
        tracing.on_request_chunk_sent.append(_written)
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections), trace_configs=[tracing])

    return ApiTransport(client=session)
