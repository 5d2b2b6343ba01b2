"""WhatsApp Cloud API through pywa (async client): a thin channel.

Inbound: the webhook checks the signature, stores each message (pending_inbound)
and commits before answering 200; the message is then handled, and deleted
once handled. A crash after the 200 therefore loses nothing: what is stored
but unhandled is handled again on start, and the dispatcher's dedupe keeps a
message from being answered twice. Payloads are read in the Cloud API's
published webhook shapes; pywa does every Graph API call.

Outbound: replies go out free-form inside the 24-hour customer-service window
(from the chat's last inbound message); outside it, only as the approved
template the Outbound names, or not at all, with the reason recorded.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
from pywa.errors import WhatsAppError
from pywa.types.templates import TemplateLanguage
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow, SentMessage

from bot.channels.pacing import AfterSent, Delivery, Pace, PacedSender, Recipient, Send, SendFailed, Verdict
from bot.channels.render import numbered, split_text
from bot.config import TemplateSettings, WhatsAppSettings
from bot.dispatcher import Dispatcher, Outcome
from bot.media import MediaStore
from bot.messages import Inbound, Location, Media, Outbound, Refusal
from bot.metrics import Metrics
from handlers.texts import Catalogue
from storage.chats import addressee, mark_unreachable
from storage.db import Database
from storage.inbox import forget_pending, pending, store_pending
from storage.outbound import record_outbound, record_status

log = logging.getLogger(__name__)

NAME = "whatsapp"
WINDOW = timedelta(hours=24)
MAX_TEXT = 4096
MAX_BODY = 1024  # body of an interactive (buttons, list, location request) message
MAX_BUTTONS, BUTTON_TITLE = 3, 20
MAX_ROWS, ROW_TITLE, ROW_DESCRIPTION, LIST_BUTTON = 10, 24, 72, 20
# Cloud API error codes: throughput and pair-rate limits are worth a retry;
# "message undeliverable" means this person cannot be reached.
RETRY_CODES = {130429, 131056, 131000, 1, 2}
UNREACHABLE_CODES = {131026}


def shorten(text: str, limit: int) -> str:
    """Fit a limit readably: cut at a word boundary and mark the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


@dataclass(frozen=True)
class Row:
    key: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Part:
    """One Graph API message, already within WhatsApp's limits."""

    kind: Literal["text", "buttons", "list", "location_request"]
    text: str
    rows: tuple[Row, ...] = ()
    list_button: str = ""


def render(message: Outbound, *, list_button: str) -> list[Part]:
    """Up to 3 choices as reply buttons, up to 10 as a list, more as numbered
    text; every title shortened to fit. An interactive body holds 1,024
    characters, so longer text goes first as plain messages."""
    choices = message.choices
    if len(choices) > MAX_ROWS:
        text = f"{message.text}\n{numbered(choices)}"
        return [Part("text", piece) for piece in split_text(text, MAX_TEXT)]
    if choices and len(choices) <= MAX_BUTTONS:
        part = Part("buttons", "", tuple(Row(c.key, shorten(c.title, BUTTON_TITLE)) for c in choices))
    elif choices:
        rows = tuple(Row(c.key, shorten(c.title, ROW_TITLE), shorten(c.description, ROW_DESCRIPTION)) for c in choices)
        part = Part("list", "", rows, shorten(list_button, LIST_BUTTON))
    elif message.request and message.request.kind == "location":
        part = Part("location_request", "")
    else:
        return [Part("text", piece) for piece in split_text(message.text, MAX_TEXT)]
    *before, last = split_text(message.text, MAX_BODY)
    return [*(Part("text", piece) for piece in before), replace(part, text=last)]


def classify(error: BaseException) -> Verdict:
    if isinstance(error, WhatsAppError):
        if error.code in UNREACHABLE_CODES:
            return Verdict("unreachable")
        if error.code in RETRY_CODES or error.is_transient:
            return Verdict("transient")
        return Verdict("fatal")
    if isinstance(error, httpx.TransportError):
        return Verdict("transient")
    return Verdict("fatal")


@dataclass(frozen=True)
class WhatsAppSecrets:
    token: str
    app_secret: str
    verify_token: str


class GraphTransport(httpx.AsyncHTTPTransport):
    """pywa always addresses graph.facebook.com; this sends those requests to
    whatsapp.graph_base_url instead (a proxy, or the tests' stand-in)."""

    def __init__(self, graph_base_url: str):
        super().__init__()
        self.target = httpx.URL(graph_base_url)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "graph.facebook.com":
            prefix = self.target.path.rstrip("/")
            request.url = request.url.copy_with(
                scheme=self.target.scheme, host=self.target.host, port=self.target.port,
                path=prefix + request.url.path,
            )  # fmt: skip
            request.headers["Host"] = self.target.netloc.decode()
        return await super().handle_async_request(request)


def whatsapp_client(settings: WhatsAppSettings, token: str) -> WhatsApp:
    session = httpx.AsyncClient(transport=GraphTransport(settings.graph_base_url), timeout=30)
    return WhatsApp(phone_id=settings.phone_number_id, token=token, session=session, api_version=settings.api_version)


class WhatsAppChannel:
    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        client: WhatsApp,
        settings: WhatsAppSettings,
        db: Database,
        catalogue: Catalogue,
        media: MediaStore,
        metrics: Metrics,
        max_file_mb: int,
        clock: Callable[[], datetime],
    ):
        self.dispatcher = dispatcher
        self.client = client
        self.settings = settings
        self.db = db
        self.catalogue = catalogue
        self.media = media
        self.metrics = metrics
        self.max_file_bytes = max_file_mb * 1024 * 1024
        self.clock = clock
        pace = settings.pace
        self.in_flight = pace.in_flight
        self.sender = PacedSender(
            channel=NAME,
            # WhatsApp has no groups for this bot; group_per_minute is unused.
            pace=Pace(pace.per_second, pace.per_recipient_per_second, 1),
            classify=classify,
            on_failure=self._given_up,
            metrics=metrics,
            in_flight=pace.in_flight,
        )
        self._handling: set[asyncio.Task] = set()

    # -- inbound -----------------------------------------------------------

    def receive(self, body: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
        """Store what a webhook delivery carries, in one transaction: each new
        message (repeats of a stored one are dropped) and each status. Returns
        the stored messages to handle once the delivery is acknowledged."""
        now = self.clock()
        stored = []
        with self.db.transaction() as session:
            for value in _values(body):
                for status in _dicts(value.get("statuses")):
                    self._record_status(session, status, now)
                for message in _dicts(value.get("messages")):
                    if not message.get("id") or not message.get("from"):
                        log.warning("whatsapp webhook: skipping a message without id or sender")
                        continue
                    pending_id = store_pending(session, channel=NAME, message_id=str(message["id"]), payload=message, now=now)
                    if pending_id is not None:
                        stored.append((pending_id, message))
        return stored

    def _record_status(self, session, status: dict[str, Any], now: datetime) -> None:
        errors = status.get("errors") or [{}]
        code, title = errors[0].get("code"), errors[0].get("title") or errors[0].get("message")
        detail = f"{code}: {title}" if code else None
        record_status(session, channel=NAME, platform_message_id=str(status.get("id")),
                      status=str(status.get("status"))[:16], now=now, detail=detail)  # fmt: skip
        if status.get("status") == "failed" and code in UNREACHABLE_CODES and status.get("recipient_id"):
            mark_unreachable(session, channel=NAME, chat_id=str(status["recipient_id"]))

    async def handle_pending(self, pending_id: int, payload: dict[str, Any]) -> Outcome:
        """Handle one stored message; forget it unless handling failed (then
        the next start tries again)."""
        inbound = await self.inbound(payload)
        self.metrics.messages_in.labels(NAME).inc()
        outcome = await self.dispatcher.handle(inbound, self._replier(inbound.chat_id))
        if outcome is not Outcome.FAILED:
            with self.db.transaction() as session:
                forget_pending(session, pending_id=pending_id)
        return outcome

    async def recover(self) -> int:
        """Handle what was stored but not handled before a crash or restart."""
        with self.db.transaction() as session:
            waiting = pending(session, channel=NAME)
        for pending_id, payload in waiting:
            await self._handle_logged(pending_id, payload)
        if waiting:
            log.info("whatsapp: handled %d message(s) stored before the last stop", len(waiting))
        return len(waiting)

    async def _handle_logged(self, pending_id: int, payload: dict[str, Any]) -> None:
        try:
            await self.handle_pending(pending_id, payload)
        except Exception:
            log.exception("whatsapp message %s could not be handled; kept for the next start", pending_id)

    def handle_later(self, stored: list[tuple[int, dict[str, Any]]]) -> None:
        """After the 200: handle each stored message in the background."""
        for pending_id, payload in stored:
            task = asyncio.create_task(self._handle_logged(pending_id, payload))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)

    async def inbound(self, message: dict[str, Any]) -> Inbound:
        sender = str(message.get("from", ""))
        base = {"channel": NAME, "chat_id": sender, "message_id": str(message["id"]),
                "sender_phone": f"+{sender}" if sender.isdigit() else None}  # fmt: skip
        if timestamp := str(message.get("timestamp", "")):
            if timestamp.isdigit():
                base["received_at"] = datetime.fromtimestamp(int(timestamp), UTC)
        kind = message.get("type")
        if kind == "text":
            return Inbound(**base, text=str(message.get("text", {}).get("body", "")))
        if kind == "interactive":
            reply = message.get("interactive", {})
            chosen = reply.get("button_reply") or reply.get("list_reply") or {}
            return Inbound(**base, choice=str(chosen.get("id", "")))
        if kind == "button":  # a template's quick-reply button
            return Inbound(**base, text=str(message.get("button", {}).get("text", "")))
        if kind == "location":
            where = message.get("location", {})
            return Inbound(**base, location=Location(float(where["latitude"]), float(where["longitude"])))
        if kind in ("image", "document"):
            item = message.get(kind, {})
            media = await self._download(item)
            caption = str(item.get("caption", ""))
            if isinstance(media, str):
                return Inbound(**base, text=caption, refused=media)
            return Inbound(**base, text=caption, media=(media,))
        return Inbound(**base, refused="unsupported")  # stickers, reactions, voice notes ...

    async def _download(self, item: dict[str, Any]) -> Media | Refusal:
        found = await self.client.get_media_url(item["id"])
        if (found.file_size or 0) > self.max_file_bytes:
            return "file_too_large"
        mime_type = found.mime_type or item.get("mime_type") or "application/octet-stream"
        suffix = mimetypes.guess_extension(mime_type) or ".bin"

        async def download(target) -> None:
            await self.client.download_media(url=found.url, path=target.parent, filename=target.name)

        return await self.media.save(NAME, download, mime_type=mime_type, suffix=suffix)

    # -- outbound ----------------------------------------------------------

    def _replier(self, chat_id: str):
        async def send(message: Outbound) -> None:
            self.submit(chat_id, message)

        return send

    def submit(self, chat_id: str, message: Outbound) -> None:
        """Queue a message for a chat: free-form inside the 24-hour window,
        else its template, else nothing (recorded with the reason)."""
        calls = self._calls(chat_id, message, self.clock())
        if isinstance(calls, str):
            self._skip(chat_id, calls)
            return
        for call in calls:
            self.sender.submit(Recipient(chat_id), call, self._accepted(chat_id))

    async def deliver(self, chat_id: str, message: Outbound, *, now: datetime) -> Delivery:
        """Send and wait for the outcome (the outbox marks each row by it).
        `now` decides the 24-hour window: the drainer's time, which an
        operator rehearsing December with --now sets ahead. The chat is read
        in a thread: the event loop is busy pacing other sends meanwhile."""
        calls = await asyncio.to_thread(self._calls, chat_id, message, now)
        if isinstance(calls, str):
            await asyncio.to_thread(self._skip, chat_id, calls)
            return Delivery("skipped", detail=calls)
        return await self.sender.deliver_all(Recipient(chat_id), calls, lambda sent: sent.id, self._accepted(chat_id))

    def _calls(self, chat_id: str, message: Outbound, now: datetime) -> list[Send] | str:
        """The Graph API calls for a message, or why none may be made."""
        with self.db.transaction() as session:
            who = addressee(session, channel=NAME, chat_id=chat_id)
        if who is None or not who.active:
            return "chat unknown or unreachable"
        if who.last_inbound_at is None or now - who.last_inbound_at >= WINDOW:
            template = self.settings.templates.get(message.template.key) if message.template else None
            if template is None:
                return "outside the 24-hour window and no template for this message"
            return [partial(self._send_template, chat_id, template, message)]
        list_button = self.catalogue[who.language]("whatsapp.list_button")
        return ([partial(self._send_part, chat_id, part) for part in render(message, list_button=list_button)]
                + [partial(self._send_file, chat_id, item) for item in message.attachments])  # fmt: skip

    async def _send_part(self, chat_id: str, part: Part) -> SentMessage:
        if part.kind == "buttons":
            buttons = [Button(row.title, callback_data=row.key) for row in part.rows]
            return await self.client.send_message(chat_id, part.text, buttons=buttons)
        if part.kind == "list":
            rows = [SectionRow(row.title, callback_data=row.key, description=row.description or None) for row in part.rows]
            sections = [Section(title=shorten(part.list_button, ROW_TITLE), rows=rows)]
            return await self.client.send_message(chat_id, part.text, buttons=SectionList(part.list_button, sections))
        if part.kind == "location_request":
            return await self.client.request_location(chat_id, part.text)
        return await self.client.send_message(chat_id, part.text)

    async def _send_file(self, chat_id: str, item: Media) -> SentMessage:
        """pywa uploads the file to the Graph API, then sends it by its media id."""
        path = Path(item.path)
        if item.mime_type.startswith("image/"):
            return await self.client.send_image(chat_id, image=path, mime_type=item.mime_type)
        return await self.client.send_document(chat_id, document=path, filename=path.name, mime_type=item.mime_type)

    async def _send_template(self, chat_id: str, template: TemplateSettings, message: Outbound) -> SentMessage:
        values = dict(message.template.values)
        body = [{"type": "text", "text": str(values.get(name, ""))} for name in template.parameters]
        params = [{"type": "body", "parameters": body}] if body else []
        return await self.client.send_template(
            chat_id, name=template.name, language=TemplateLanguage(template.language), params=params
        )

    def _accepted(self, chat_id: str) -> AfterSent:
        async def record(sent: SentMessage) -> None:
            await asyncio.to_thread(self._record, chat_id, "accepted", sent.id)

        return record

    def _record(self, chat_id: str, status: str, platform_message_id: str | None = None, detail: str | None = None) -> None:
        with self.db.transaction() as session:
            record_outbound(session, channel=NAME, chat_id=chat_id, status=status, now=self.clock(),
                            platform_message_id=platform_message_id, detail=detail)  # fmt: skip

    def _skip(self, chat_id: str, reason: str) -> None:
        log.info("whatsapp: not sending to a chat: %s", reason)
        self.metrics.errors.labels(NAME, "skipped").inc()
        self._record(chat_id, "skipped", detail=reason)

    async def _given_up(self, chat_id: str, failure: SendFailed) -> None:
        self._record(chat_id, "failed", detail=str(failure.cause))
        if failure.verdict.kind == "unreachable":
            with self.db.transaction() as session:
                mark_unreachable(session, channel=NAME, chat_id=chat_id)

    async def stop(self, timeout: float = 10.0) -> None:
        if self._handling:
            await asyncio.wait(list(self._handling), timeout=timeout)
        await self.sender.close(timeout)


def _values(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The `value` of every messages change of every entry (the Cloud API
    batches), skipping whatever does not have the published shape."""
    return [
        change["value"]
        for entry in _dicts(body.get("entry"))
        for change in _dicts(entry.get("changes"))
        if change.get("field") == "messages" and isinstance(change.get("value"), dict)
    ]


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
