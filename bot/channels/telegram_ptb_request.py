"""python-telegram-bot's requests over aiohttp's session (api_session), the
way PTB takes another HTTP library: a `BaseRequest`.

PTB's own HTTPXRequest over httpx over aiohttp spent more CPU in httpx's
request and response objects than aiohttp spent sending: 0.92 ms of CPU a
sendMessage against 0.50 this way, where sending is nearly half the bot's
work (docs/performance.md)."""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.channels.api_transport import api_session

# PTB passes a timeout not given as an instance of this class (its own
# HTTPXRequest imports it from a private module; this is the public way).
DefaultValue = type(BaseRequest.DEFAULT_NONE)
Timeout = float | None | DefaultValue


class AiohttpRequest(BaseRequest):
    """At most `connections` requests at once; the timeouts are PTB's
    defaults. aiohttp has no write timeout: a stalled upload ends when the
    read timeout finds no answer."""

    def __init__(
        self,
        connections: int,
        *,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ):
        self._connections = connections
        self._connect, self._read, self._pool = connect_timeout, read_timeout, pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        self._opened()

    def _opened(self) -> aiohttp.ClientSession:
        # Also on the first request: the reminders send through a Bot that
        # is never initialized (getMe is the channel's check, not theirs).
        if self._session is None or self._session.closed:
            self._session = api_session(self._connections)
        return self._session

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _timeout(self, connect: Timeout, read: Timeout, pool: Timeout) -> aiohttp.ClientTimeout:
        connect = self._connect if isinstance(connect, DefaultValue) else connect
        read = self._read if isinstance(read, DefaultValue) else read
        pool = self._pool if isinstance(pool, DefaultValue) else pool
        # aiohttp's `connect` covers waiting for a free connection and making one.
        waiting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(total=None, connect=waiting, sock_connect=connect, sock_read=read)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        write_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        connect_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        pool_timeout: Timeout = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        headers = {"User-Agent": self.USER_AGENT}
        body: aiohttp.FormData | bytes | None = None
        if request_data is not None and request_data.contains_files:
            body = aiohttp.FormData(request_data.json_parameters)
            for name, (file_name, content, mime_type) in request_data.multipart_data.items():
                body.add_field(name, content, filename=file_name, content_type=mime_type)
        elif request_data is not None:
            # JSON is one C call where a form encodes every value again.
            body, headers["Content-Type"] = request_data.json_payload, "application/json"
        try:
            async with self._opened().request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=self._timeout(connect_timeout, read_timeout, pool_timeout),
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name too: some of aiohttp's errors have no message.
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
