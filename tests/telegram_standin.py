"""A stand-in for the Telegram Bot API, served on 127.0.0.1 by uvicorn, that
the real python-telegram-bot and aiogram clients talk HTTP to (through
telegram.base_url).

It implements the methods Payung calls with the Bot API's published request
and response shapes, logs every call with its arrival time (the pacing tests
read that log), serves files, long-polls getUpdates, and fails on request
(429 with retry_after, 5xx, 403) for the reliability tests.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import at_least, serve, stop

TOKEN = "123456:TEST-token-for-the-stand-in-only-abcdef"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Payung", "username": "PayungTestBot"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1


@dataclass
class BotApiStandIn:
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    _updates: list[dict] = field(default_factory=list)
    _news: asyncio.Event = field(default_factory=asyncio.Event)
    _failures: dict[tuple[str, str | None], Failure] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)  # method -> seconds before it answers
    round_trip: float = 0.0  # a simulated network: half of it before a call arrives, half after
    _message_ids: Any = field(default_factory=lambda: itertools.count(1000))
    _update_ids: Any = field(default_factory=lambda: itertools.count(1))
    _replies: dict[str, list[float]] = field(default_factory=dict)  # chat -> sendMessage arrival times
    _waiting: list[tuple[str, int, asyncio.Future]] = field(default_factory=list)
    server: uvicorn.Server | None = None
    port: int = 0

    # -- what tests use ------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def push(self, *updates: dict) -> None:
        """Updates for the next getUpdates."""
        self._updates.extend(updates)
        self._news.set()

    def fail(
        self,
        method: str,
        *,
        chat_id: str | None = None,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        self._failures[(method, chat_id)] = Failure(status, description, retry_after, times)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    async def wait_for(self, count: int, method: str = "sendMessage", timeout: float = 10.0) -> list[dict]:
        return await at_least(count, lambda: self.sent(method), f"{method} calls", timeout)

    # -- serving -------------------------------------------------------------

    async def __aenter__(self) -> BotApiStandIn:
        self.server, self.port = await serve(self.app())
        return self

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file),
                Route("/counts", self._counts),
                Route("/arrivals", self._arrivals),
                Route("/push", self._push, methods=["POST"]),
                Route("/replies/{chat_id}", self._replies_to),
            ]
        )

    async def _push(self, request: Request) -> Response:
        """Updates for getUpdates from another process (the polling benchmark),
        numbered here in arrival order as Telegram numbers them."""
        updates = await request.json()
        for update in updates:
            update["update_id"] = next(self._update_ids)
        self.push(*updates)
        return JSONResponse([update["update_id"] for update in updates])

    async def _replies_to(self, request: Request) -> Response:
        """Arrival times of the replies to a chat, once there are at least
        ?count= of them (the benchmarks' update-to-reply latency)."""
        chat_id, count = request.path_params["chat_id"], int(request.query_params.get("count", 1))
        if len(self._replies.get(chat_id, ())) < count:
            arrived = asyncio.get_running_loop().create_future()
            self._waiting.append((chat_id, count, arrived))
            await asyncio.wait_for(arrived, float(request.query_params.get("timeout", 60)))
        return JSONResponse(self._replies[chat_id])

    def _replied(self, chat_id: str, at: float) -> None:
        self._replies.setdefault(chat_id, []).append(at)
        still = []
        for waiting in self._waiting:
            chat, count, arrived = waiting
            if chat == chat_id and len(self._replies[chat]) >= count:
                if not arrived.done():  # a waiter that timed out is already done
                    arrived.set_result(None)
            else:
                still.append(waiting)
        self._waiting = still

    async def _arrivals(self, request: Request) -> Response:
        """Arrival times (monotonic seconds) of one method's calls, for the pacing benchmark."""
        method = request.query_params.get("method", "sendMessage")
        return JSONResponse([call.at for call in self.calls if call.method == method])

    async def _counts(self, _request: Request) -> Response:
        """Calls per method, for a benchmark running this in its own process."""
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        return JSONResponse(counts)

    async def __aexit__(self, *_exc) -> None:
        await stop(self.server)

    async def _api(self, request: Request) -> Response:
        # A call arrives half a round trip after it reached this process, by
        # the clock rather than after the sleep: on a loaded machine a sleep
        # overruns by tens of milliseconds, a delay of the stand-in's, not the bot's.
        arrived = time.monotonic() + self.round_trip / 2
        await asyncio.sleep(self.round_trip / 2)
        response = await self._answer(request, arrived)
        await asyncio.sleep(self.round_trip / 2)
        return response

    async def _answer(self, request: Request, arrived: float) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        params = await _params(request)
        self.calls.append(Call(method, params, arrived))
        if delay := self.delays.get(method):
            await asyncio.sleep(delay)
        if failure := self._failure(method, params.get("chat_id")):
            body = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return JSONResponse(body, status_code=failure.status)
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            self._replied(str(params.get("chat_id")), self.calls[-1].at)
        handler: Callable | None = getattr(self, f"_{method}", None)
        if handler is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        return JSONResponse({"ok": True, "result": await handler(params)})

    def _failure(self, method: str, chat_id: str | None) -> Failure | None:
        for key in ((method, chat_id), (method, None)):
            failure = self._failures.get(key)
            if failure and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    async def _file(self, request: Request) -> Response:
        content = self.files.get(request.path_params["path"])
        return Response(content, status_code=200) if content is not None else Response(status_code=404)

    # -- Bot API methods -------------------------------------------------------

    async def _getMe(self, _params):
        return BOT_USER

    async def _getUpdates(self, params):
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        self._updates = [update for update in self._updates if update["update_id"] >= offset]
        if not self._updates and timeout:
            self._news.clear()
            try:
                await asyncio.wait_for(self._news.wait(), timeout)
            except TimeoutError:
                pass
        return [update for update in self._updates if update["update_id"] >= offset][:100]

    async def _setWebhook(self, _params):
        return True

    async def _deleteWebhook(self, _params):
        return True

    async def _setMyCommands(self, _params):
        return True

    async def _answerCallbackQuery(self, _params):
        return True

    async def _sendMessage(self, params):
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params["text"],
        }
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _sendPhoto(self, params):
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}],
        }

    async def _sendDocument(self, params):
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "document": {"file_id": "d", "file_unique_id": "d"},
        }

    async def _editMessageReplyMarkup(self, params):
        return {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
        }

    async def _getFile(self, params):
        file_id = params["file_id"]
        content = self.files.get(f"documents/{file_id}", b"")
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(content),
            "file_path": f"documents/{file_id}",
        }


async def _params(request: Request) -> dict[str, Any]:
    """Both libraries post form fields (urlencoded or multipart), JSON-encoding
    the structured ones; JSON bodies are accepted too."""
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.json()
    else:
        # A file upload is logged by its name and size.
        raw = {
            key: value if isinstance(value, str) else {"filename": value.filename, "size": value.size}
            for key, value in (await request.form()).items()
        }
    return {
        key: json.loads(value) if key in JSON_FIELDS and isinstance(value, str) else value for key, value in raw.items()
    }


# -- Telegram-shaped updates ---------------------------------------------------


def most_in_any_second(times: list[float]) -> int:
    """The busiest one-second window of an arrival log, as the platform counts."""
    times = sorted(times)
    return max((bisect.bisect_left(times, start + 1.0) - index for index, start in enumerate(times)), default=0)


def sustained_rate(times: list[float], limit: int) -> float:
    """Calls a second as a limiter of `limit` a second sustains them: a call
    and the `limit`-th after it are at least a second apart at the platform,
    so `limit` over their mean distance. Unlike n / (span + 1 s) this does
    not count a last, partly filled window as a whole one."""
    times = sorted(times)
    cycles = [later - first for first, later in zip(times, times[limit:], strict=False)]
    return limit / (sum(cycles) / len(cycles)) if cycles else 0.0


def user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": "Warga", "language_code": "id"}


def private_chat(chat_id: int) -> dict:
    return {"id": chat_id, "type": "private", "first_name": "Warga"}


def message_update(update_id: int, chat_id: int, **content) -> dict:
    message = {"message_id": update_id, "date": 1795755600, "chat": private_chat(chat_id), "from": user(chat_id)}
    message.update(content)
    return {"update_id": update_id, "message": message}


def text_update(update_id: int, chat_id: int, text: str) -> dict:
    return message_update(update_id, chat_id, text=text)


def tap_update(update_id: int, chat_id: int, data: str, message_id: int = 1000) -> dict:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb-{update_id}",
            "from": user(chat_id),
            "chat_instance": f"ci-{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 1795755600,
                "chat": private_chat(chat_id),
                "from": BOT_USER,
                "text": "...",
            },
        },
    }


if __name__ == "__main__":
    # python -m tests.telegram_standin PORT: serve it alone (the benchmarks).
    import sys

    async def main(port: int, round_trip: float) -> None:
        standin = BotApiStandIn(round_trip=round_trip)
        await uvicorn.Server(uvicorn.Config(standin.app(), host="127.0.0.1", port=port, log_level="warning")).serve()

    # python -m tests.telegram_standin PORT [ROUND_TRIP_SECONDS]
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0))
