"""A stand-in for the WhatsApp Cloud (Graph) API on 127.0.0.1, for the real
pywa client (reached through whatsapp.graph_base_url). It records the
message bodies pywa posts, serves media behind the bearer token, and answers
with scripted Cloud API errors."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.servers import serve, stop

TOKEN = "EAAG-test-token-for-the-stand-in"
PHONE_ID = "1001"


@dataclass
class Posted:
    body: dict[str, Any]
    at: float


@dataclass
class GraphApiStandIn:
    posted: list[Posted] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # id -> (content, mime type)
    templates: list[dict[str, Any]] = field(default_factory=list)  # as created, with their review status
    uploads: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)  # id -> (file name, content, mime type)
    _failures: dict[str, list[dict]] = field(default_factory=dict)  # recipient -> errors to answer, in order
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    server: uvicorn.Server | None = None
    port: int = 0
    round_trip: float = 0.0  # a simulated network: half of it before a message arrives, half after

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, to: str, *, code: int, message: str, status: int = 400, times: int = 1) -> None:
        error = {
            "status": status,
            "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"},
        }
        self._failures.setdefault(to, []).extend([error] * times)

    def bodies(self, to: str | None = None) -> list[dict[str, Any]]:
        return [p.body for p in self.posted if to is None or p.body.get("to") == to]

    async def __aenter__(self) -> GraphApiStandIn:
        self.server, self.port = await serve(self.app())
        return self

    async def __aexit__(self, *_exc) -> None:
        await stop(self.server)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v{version}/{phone_id}/messages", self._messages, methods=["POST"]),
                Route("/v{version}/{waba_id}/message_templates", self._templates, methods=["GET", "POST"]),
                Route("/v{version}/{phone_id}/media", self._upload, methods=["POST"]),
                Route("/v{version}/{media_id}", self._media_url, methods=["GET"]),
                Route("/files/{media_id}", self._file, methods=["GET"]),
                Route("/counts", self._counts),
                Route("/arrivals", self._arrivals),
            ]
        )

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def _messages(self, request: Request) -> Response:
        arrived = time.monotonic() + self.round_trip / 2  # by the clock, as in telegram_standin
        await asyncio.sleep(self.round_trip / 2)
        response = await self._message(request, arrived)
        await asyncio.sleep(self.round_trip / 2)
        return response

    async def _message(self, request: Request, arrived: float) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": {"message": "Invalid OAuth access token", "code": 190}}, status_code=401)
        body = await request.json()
        self.posted.append(Posted(body, arrived))
        waiting = self._failures.get(str(body.get("to")))
        if waiting:
            failure = waiting.pop(0)
            return JSONResponse({"error": failure["error"]}, status_code=failure["status"])
        to = body["to"]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.out.{next(self._ids)}"}],
            }
        )

    def review(self, name: str, language: str, status: str) -> None:
        """Meta's review decides: APPROVED, REJECTED ..."""
        [template] = [item for item in self.templates if (item["name"], item["language"]) == (name, language)]
        template["status"] = status

    async def _templates(self, request: Request) -> Response:
        """Create a template (under review at first), or list them, a page of
        five at a time as the Graph API pages them."""
        if not self._authorised(request):
            return JSONResponse({"error": {"message": "Invalid OAuth access token", "code": 190}}, status_code=401)
        if request.method == "POST":
            body = await request.json()
            if any((item["name"], item["language"]) == (body["name"], body["language"]) for item in self.templates):
                error = {"message": "Content in this language already exists", "code": 100, "error_subcode": 2388024}
                return JSONResponse({"error": error}, status_code=400)
            created = {**body, "id": str(9000 + len(self.templates)), "status": "PENDING"}
            self.templates.append(created)
            return JSONResponse({"id": created["id"], "status": "PENDING", "category": body["category"]})
        start = int(request.query_params.get("after", "0"))
        page = self.templates[start : start + 5]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
        if start + 5 < len(self.templates):
            paging["next"] = f"https://graph.facebook.com{request.url.path}?after={start + 5}"  # as Meta writes it
        summary = {"total_count": len(self.templates), "message_template_count": len(self.templates),
                   "message_template_limit": 250, "are_translations_complete": True}  # fmt: skip
        return JSONResponse({"data": page, "summary": summary, "paging": paging})

    async def _upload(self, request: Request) -> Response:
        """A media upload (multipart): kept, so the test can read what was sent."""
        if not self._authorised(request):
            return JSONResponse({"error": {"message": "Invalid OAuth access token", "code": 190}}, status_code=401)
        form = await request.form()
        upload = form["file"]
        media_id = f"up-{next(self._ids)}"
        self.uploads[media_id] = (upload.filename, await upload.read(), str(form.get("type", "")))
        return JSONResponse({"id": media_id})

    async def _media_url(self, request: Request) -> Response:
        media_id = request.path_params["media_id"]
        if not self._authorised(request) or media_id not in self.media:
            return JSONResponse({"error": {"message": "Unsupported get request", "code": 100}}, status_code=400)
        content, mime_type = self.media[media_id]
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/files/{media_id}",
                "mime_type": mime_type,
                "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": len(content),
                "id": media_id,
            }
        )

    async def _file(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        content, mime_type = self.media[request.path_params["media_id"]]
        return Response(content, media_type=mime_type)

    async def _arrivals(self, _request: Request) -> Response:
        """Arrival times (monotonic seconds) of posted messages, for the pacing benchmark."""
        return JSONResponse([posted.at for posted in self.posted])

    async def _counts(self, _request: Request) -> Response:
        return JSONResponse({"messages": len(self.posted)})


# -- webhook bodies in the Cloud API's published shapes --------------------------


def delivery(*, messages: list[dict] = (), statuses: list[dict] = ()) -> dict:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": PHONE_ID},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Warga"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"value": value, "field": "messages"}]}],
    }


def message(wamid: str, sender: str, kind: str, content: dict, timestamp: int = 1795755600) -> dict:
    return {"from": sender, "id": wamid, "timestamp": str(timestamp), "type": kind, kind: content}


def text(wamid: str, sender: str, body: str) -> dict:
    return message(wamid, sender, "text", {"body": body})


def button_reply(wamid: str, sender: str, choice_id: str, title: str = "") -> dict:
    return message(
        wamid, sender, "interactive", {"type": "button_reply", "button_reply": {"id": choice_id, "title": title}}
    )


def list_reply(wamid: str, sender: str, choice_id: str, title: str = "") -> dict:
    return message(
        wamid, sender, "interactive", {"type": "list_reply", "list_reply": {"id": choice_id, "title": title}}
    )


def status(wamid: str, recipient: str, state: str, *, code: int | None = None, title: str = "") -> dict:
    update: dict[str, Any] = {"id": wamid, "status": state, "timestamp": "1795755700", "recipient_id": recipient}
    if code is not None:
        update["errors"] = [{"code": code, "title": title}]
    return update


if __name__ == "__main__":
    # python -m tests.graph_standin PORT: serve it alone (the benchmarks).
    import sys

    async def main(port: int, round_trip: float) -> None:
        standin = GraphApiStandIn(port=port, round_trip=round_trip)
        await uvicorn.Server(uvicorn.Config(standin.app(), host="127.0.0.1", port=port, log_level="warning")).serve()

    # python -m tests.graph_standin PORT [ROUND_TRIP_SECONDS]
    asyncio.run(main(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0))
