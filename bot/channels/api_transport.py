"""The HTTP client under the platform clients: aiohttp's, with the
interface each library takes. pywa speaks httpx, so it gets httpx's
interface over aiohttp (`api_transport`); python-telegram-bot takes a
request class of its own (bot/channels/telegram_ptb_request.py), which uses
the session directly.

httpx's own connection pool costs about 2.4 ms of CPU a call on the 2-core
machine against 0.7 ms through aiohttp (bench/bench_webhooks.py), and at a
platform's rate sending is most of the bot's work. The session also tells
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


def api_session(connections: int) -> aiohttp.ClientSession:
    """A session of at most `connections` connections (the channel's
    in_flight) that tells pacing when a request is written. Made inside the
    event loop, on the first call."""
    tracing = aiohttp.TraceConfig()
    tracing.on_request_headers_sent.append(_written)
    tracing.on_request_chunk_sent.append(_written)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections), trace_configs=[tracing])


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
    """httpx's transport over `api_session`."""
    return ApiTransport(client=lambda: api_session(connections))
