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
import hashlib
import hmac
import json
import logging
import mimetypes
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx
from pywa.errors import WhatsAppError
from pywa.types.templates import TemplateLanguage
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow, SentMessage
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channel_records import ChannelRecords
from bot.channels.api_transport import api_transport
from bot.channels.pacing import AfterSent, Call, Pace, PacedSender, Recipient, SendFailed, Verdict
from bot.channels.render import numbered, split_text
from bot.channels.shared_pace import shared_windows
from bot.channels.whatsapp_templates import Templates, one_line, refresh

# This module's hooks for bot/channels/__init__.py live with the templates.
from bot.channels.whatsapp_templates import reminders_ready as reminders_ready
from bot.channels.whatsapp_templates import template_preview as template_preview
from bot.config import ConfigError, TemplateSettings, WhatsAppSettings, env_secret
from bot.dispatcher import ChatLocks, Dispatcher, Outcome
from bot.media import MediaStore
from bot.metrics import Metrics
from bot.outbound import Sending
from bot.types import Delivery, Finished, Readiness, Sendable
from handlers.messages import Capabilities, Choice, Inbound, Location, Media, Outbound, Refusal
from handlers.texts import Catalogue
from storage import whatsapp_templates

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

NAME = "whatsapp"
MAX_TEXT = 4096
# The sender's wa_id is a number WhatsApp has verified; free text only
# within 24 hours of the person's last message, else approved templates.
CAPABILITIES = Capabilities(verified_phone="sender", templates=True, max_text=MAX_TEXT, reply_window_hours=24)
TEMPLATES_READ_EVERY_SECONDS = 30 * 60  # from Meta: reviews take minutes to days
STATUSES_KEPT_SECONDS = 60  # how long the templates' review statuses are trusted before reading them again
SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")
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


def row(choice: Choice) -> Row:
    description = choice.description or (choice.title if len(choice.title) > ROW_TITLE else "")
    return Row(choice.key, shorten(choice.title, ROW_TITLE), shorten(description, ROW_DESCRIPTION))


@dataclass(frozen=True)
class Part:
    """One Graph API message, already within WhatsApp's limits."""

    kind: Literal["text", "buttons", "list", "location_request"]
    text: str
    rows: tuple[Row, ...] = ()
    list_button: str = ""


def render(message: Outbound, *, list_button: str) -> list[Part]:
    """Up to 3 short choices as reply buttons, up to 10 as a list, more as
    numbered text. A list row too narrow for its title shows it whole in its
    description, so "Meninggal karena ..." and "Meninggal bukan karena ..."
    stay apart. An interactive body holds 1,024 characters, so longer text
    goes first as plain messages."""
    choices = message.choices
    if len(choices) > MAX_ROWS:
        text = f"{message.text}\n{numbered(choices)}"
        return [Part("text", piece) for piece in split_text(text, MAX_TEXT)]
    if choices and len(choices) <= MAX_BUTTONS and all(len(c.title) <= BUTTON_TITLE for c in choices):
        part = Part("buttons", "", tuple(Row(c.key, c.title) for c in choices))
    elif choices:
        part = Part("list", "", tuple(row(choice) for choice in choices), shorten(list_button, LIST_BUTTON))
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


class GraphTransport(httpx.AsyncBaseTransport):
    """pywa always addresses graph.facebook.com; this sends those requests to
    whatsapp.graph_base_url instead (a proxy, or the tests' stand-in)."""

    def __init__(self, graph_base_url: str, through: httpx.AsyncBaseTransport):
        self.target = httpx.URL(graph_base_url)
        self.through = through

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "graph.facebook.com":
            prefix = self.target.path.rstrip("/")
            request.url = request.url.copy_with(
                scheme=self.target.scheme,
                host=self.target.host,
                port=self.target.port,
                path=prefix + request.url.path,
            )
            request.headers["Host"] = self.target.netloc.decode()
        return await self.through.handle_async_request(request)

    async def aclose(self) -> None:
        await self.through.aclose()


def graph_session(settings: WhatsAppSettings) -> httpx.AsyncClient:
    """The HTTP client under pywa; whoever makes it closes it (`async with`, or aclose)."""
    transport = GraphTransport(settings.graph_base_url, api_transport(settings.pace.in_flight))
    return httpx.AsyncClient(transport=transport, timeout=30)


def whatsapp_client(settings: WhatsAppSettings, token: str, session: httpx.AsyncClient) -> WhatsApp:
    return WhatsApp(phone_id=settings.phone_number_id, token=token, session=session, api_version=settings.api_version)


class WhatsAppChannel:
    name = NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        client: WhatsApp,
        settings: WhatsAppSettings,
        secrets: WhatsAppSecrets,
        session: httpx.AsyncClient,  # the client's, closed at stop
        catalogue: Catalogue,
        media: MediaStore,
        metrics: Metrics,
        sending: Sending,
        records: ChannelRecords,
        max_file_mb: int,
    ):
        self.dispatcher = dispatcher
        self.client = client
        self.session = session
        self.settings = settings
        self.secrets = secrets
        self.catalogue = catalogue
        self.media = media
        self.metrics = metrics
        self.sending = sending
        self.records = records
        self.max_file_bytes = max_file_mb * 1024 * 1024
        pace = settings.pace
        self.in_flight = pace.in_flight
        # WhatsApp has no groups for this bot; group_per_minute is unused.
        limits = Pace(pace.per_second, pace.per_recipient_per_second, 1, pace.jitter)
        self.sender = PacedSender(
            channel=NAME,
            pace=limits,
            classify=classify,
            on_failure=self._given_up,
            metrics=metrics,
            in_flight=pace.in_flight,
            shared=shared_windows(
                records.db, records.writes, channel=NAME, pace=limits, across_processes=pace.across_processes
            ),
        )
        self._handling: set[asyncio.Task] = set()
        self._chats_in_order = ChatLocks()
        self.templates = Templates(settings.templates)
        self._statuses_read: tuple[float, dict[tuple[str, str], str]] | None = None

    @classmethod
    def of(cls, app: App, secrets: WhatsAppSecrets) -> WhatsAppChannel:
        settings = app.settings.whatsapp
        session = graph_session(settings)
        return cls(
            client=whatsapp_client(settings, secrets.token, session),
            session=session,
            settings=settings,
            secrets=secrets,
            records=ChannelRecords(NAME, app.db, app.clock, app.writes),
            **app.channel_parts(),
        )

    # -- webhook -------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        path = self.settings.webhook_path
        return [Route(path, self._handshake, methods=["GET"]), Route(path, self._webhook, methods=["POST"])]

    async def _handshake(self, request: Request) -> Response:
        """Meta's subscription check: echo hub.challenge for the right token."""
        query = request.query_params
        token = query.get("hub.verify_token", "").encode()
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(token, self.secrets.verify_token.encode()):
            return PlainTextResponse(query.get("hub.challenge", ""))
        return Response(status_code=403)

    async def _webhook(self, request: Request) -> Response:
        """A signed delivery is stored and committed before the 200, and
        handled after it; a failure to store asks Meta to deliver again."""
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not SIGNATURE.fullmatch(signature):
            return Response(status_code=401)  # refused before a byte of the body is read
        mac, chunks = hmac.new(self.secrets.app_secret.encode(), digestmod=hashlib.sha256), []
        async for chunk in request.stream():  # verified as it arrives (the web app caps its size)
            mac.update(chunk)
            chunks.append(chunk)
        if not hmac.compare_digest(signature.encode(), f"sha256={mac.hexdigest()}".encode()):
            return Response(status_code=403)
        body = b"".join(chunks)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError) as error:  # RecursionError: JSON nested 100,000 deep
            log.warning("whatsapp webhook: ignoring a body that is not JSON (%s)", type(error).__name__)
            return Response()  # 200: Meta must stop resending it
        await self.sending.room()  # meanwhile Meta keeps the next deliveries
        try:
            stored = await self.receive(data)
        except Exception:
            log.exception("whatsapp webhook: could not store a delivery; asking for redelivery")
            return Response(status_code=500)
        self.handle_later(stored)  # after the commit: a crash from here on loses nothing
        return Response()

    # -- inbound -----------------------------------------------------------

    def receive(self, body: dict[str, Any]) -> asyncio.Future[list[tuple[int, dict[str, Any]]]]:
        """Store what a webhook delivery carries (ChannelRecords.store): each
        new message (repeats of a stored one are dropped) and each status. Its
        result: the stored messages to handle once the delivery is acknowledged."""
        messages, statuses = [], []
        for value in _values(body):
            statuses += [_status(status) for status in _dicts(value.get("statuses"))]
            for message in _dicts(value.get("messages")):
                if not message.get("id") or not message.get("from"):
                    log.warning("whatsapp webhook: skipping a message without id or sender")
                    continue
                messages.append((str(message["id"]), message))
        return self.records.store(messages, statuses)

    async def handle_pending(self, pending_id: int, payload: dict[str, Any]) -> Outcome:
        """Handle one stored message; forget it unless handling failed (then
        the next start tries again)."""
        inbound = await self.inbound(payload)
        self.metrics.messages_in.labels(NAME).inc()
        outcome = await self.dispatcher.handle(inbound, self.sending.replier(self, inbound))
        if outcome is not Outcome.FAILED:
            await self.records.handled(pending_id)
        return outcome

    async def start(self) -> None:
        await self.recover()

    async def recover(self) -> int:
        """Handle what was stored but not handled before a crash or restart."""
        waiting = self.records.waiting()
        for pending_id, payload in waiting:
            await self._handle_logged(pending_id, payload)
        if waiting:
            log.info("whatsapp: handled %d message(s) stored before the last stop", len(waiting))
        return len(waiting)

    async def run(self) -> None:
        """Deliveries arrive at the webhook; its own work is reading the
        templates' review status every half hour, so a template Meta has
        approved starts carrying the messages that wait for it."""
        if not self.settings.business_account_id:
            return
        while True:
            try:
                await self.read_template_statuses()
            except (WhatsAppError, httpx.HTTPError) as error:
                log.warning("whatsapp templates: review status not read (%s)", error)
            await asyncio.sleep(TEMPLATES_READ_EVERY_SECONDS)

    async def read_template_statuses(self) -> None:
        """Meta's review of every template, recorded and used from now on."""
        await refresh(self.client, self.settings.business_account_id, self.records.db, now=self.records.clock())
        self._statuses_read = None

    async def _handle_logged(self, pending_id: int, payload: dict[str, Any]) -> None:
        try:
            failure = None
            if await self.handle_pending(pending_id, payload) is Outcome.FAILED:
                failure = "a conversation step failed"
        except Exception as error:
            log.exception("whatsapp message %s could not be handled", pending_id)
            failure = f"{type(error).__name__}: {error}"
        if failure is None:
            return
        tries, dead = self.records.failed(pending_id, failure, most=self.settings.inbound_attempts)
        if dead:
            # Never retried again: the person hears what could not be received.
            log.warning("whatsapp message %s is a dead letter after %d tries", pending_id, tries)
            await self._tell_unreadable(payload)
            return
        delay = self.settings.inbound_retry_seconds * 2 ** (tries - 1)
        self._later(self._retry(pending_id, payload, delay))

    async def _retry(self, pending_id: int, payload: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        await self._handle_logged(pending_id, payload)

    async def _tell_unreadable(self, payload: dict[str, Any]) -> None:
        sender = str(payload.get("from", ""))
        inbound = Inbound(channel=NAME, chat_id=sender, message_id=f"{payload.get('id')}:unreadable")
        try:
            texts = self.catalogue[self.records.heard_from(sender, language=self.dispatcher.settings.default_language)]
            self.sending.submit(self, sender, Outbound(texts("refused.unreadable")), answering=inbound)
        except Exception:
            log.exception("whatsapp: could not tell a sender that their message could not be received")

    def handle_later(self, stored: list[tuple[int, dict[str, Any]]]) -> None:
        """After the 200: handle each stored message in the background."""
        for pending_id, payload in stored:
            self._later(self._in_order(pending_id, payload))

    async def _in_order(self, pending_id: int, payload: dict[str, Any]) -> None:
        """One chat's messages one after another, in the order they came: a
        photo still downloading must not let the "selesai" after it overtake it."""
        with self.sending.answering():
            async with self._chats_in_order.hold(str(payload.get("from", ""))):
                await self._handle_logged(pending_id, payload)

    def _later(self, work) -> None:
        task = asyncio.create_task(work)
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def inbound(self, message: dict[str, Any]) -> Inbound:
        sender = str(message.get("from", ""))
        base = {
            "channel": NAME,
            "chat_id": sender,
            "message_id": str(message["id"]),
            "sender_phone": f"+{sender}" if sender.isdigit() else None,
        }
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
        if kind in ("image", "document", "audio"):  # audio: voice notes too
            item = message.get(kind, {})
            media = await self._download(item)
            caption = str(item.get("caption", ""))
            if isinstance(media, str):
                return Inbound(**base, text=caption, refused=media)
            return Inbound(**base, text=caption, media=(replace(media, caption=caption),))
        return Inbound(**base, refused="unsupported")  # stickers, reactions, videos ...

    async def _download(self, item: dict[str, Any]) -> Media | Refusal:
        found = await self.client.get_media_url(item["id"])
        if (found.file_size or 0) > self.max_file_bytes:
            return "file_too_large"
        # "audio/ogg; codecs=opus": the parameters name no file type
        mime_type = (found.mime_type or item.get("mime_type") or "application/octet-stream").split(";")[0].strip()
        suffix = mimetypes.guess_extension(mime_type) or ".bin"

        async def download(target) -> None:
            await self.client.download_media(url=found.url, path=target.parent, filename=target.name)

        return await self.media.save(NAME, download, mime_type=mime_type, suffix=suffix)

    # -- outbound ----------------------------------------------------------

    def template(self, key: str, language: str) -> Readiness:
        chosen = self.templates.choose(key, language, self._statuses())
        return chosen.readiness if chosen else "missing"

    def _statuses(self) -> dict[tuple[str, str], str]:
        """The templates' review statuses, read again once a minute at most
        (a scheduler job and `whatsapp templates` write them)."""
        if self._statuses_read is None or time.monotonic() - self._statuses_read[0] > STATUSES_KEPT_SECONDS:
            with self.records.db.transaction() as session:
                self._statuses_read = (time.monotonic(), whatsapp_templates.statuses(session))
        return self._statuses_read[1]

    def submit(
        self,
        chat_id: str,
        message: Outbound,
        how: Sendable,
        *,
        language: str,
        answering: Inbound | None,
        finished: Finished | None = None,
    ) -> None:
        calls = self._calls(chat_id, message, how, language)
        self.sender.submit_all(Recipient(chat_id), calls, self._accepted(chat_id), finished=finished)

    async def deliver(self, chat_id: str, message: Outbound, how: Sendable, *, language: str) -> Delivery:
        calls = self._calls(chat_id, message, how, language)
        return await self.sender.deliver_all(Recipient(chat_id), calls, lambda sent: sent.id, self._accepted(chat_id))

    def _calls(self, chat_id: str, message: Outbound, how: Sendable, language: str) -> list[Call]:
        """The Graph API calls for a message: its template alone, or its
        parts and then its files."""
        if how == "template":
            chosen = self.templates.choose(message.template.key, language, self._statuses())
            return [partial(self._send_template, chat_id, chosen.settings, message)]
        list_button = self.catalogue[language]("whatsapp.list_button")
        return [partial(self._send_part, chat_id, part) for part in render(message, list_button=list_button)] + [
            partial(self._send_file, chat_id, item) for item in message.attachments
        ]

    async def _send_part(self, chat_id: str, part: Part) -> SentMessage:
        if part.kind == "buttons":
            buttons = [Button(row.title, callback_data=row.key) for row in part.rows]
            return await self.client.send_message(chat_id, part.text, buttons=buttons)
        if part.kind == "list":
            rows = [
                SectionRow(row.title, callback_data=row.key, description=row.description or None) for row in part.rows
            ]
            sections = [Section(title=shorten(part.list_button, ROW_TITLE), rows=rows)]
            return await self.client.send_message(chat_id, part.text, buttons=SectionList(part.list_button, sections))
        if part.kind == "location_request":
            return await self.client.request_location(chat_id, part.text)
        return await self.client.send_message(chat_id, part.text)

    async def _send_file(self, chat_id: str, item: Media) -> SentMessage:
        """pywa uploads the file to the Graph API, then sends it by its media id."""
        path, caption = Path(item.path), item.caption or None
        if item.mime_type.startswith("image/"):
            return await self.client.send_image(chat_id, image=path, caption=caption, mime_type=item.mime_type)
        if item.is_voice:  # WhatsApp takes no caption on audio
            return await self.client.send_audio(chat_id, audio=path, mime_type=item.mime_type)
        return await self.client.send_document(
            chat_id, document=path, filename=path.name, caption=caption, mime_type=item.mime_type
        )

    async def _send_template(self, chat_id: str, template: TemplateSettings, message: Outbound) -> SentMessage:
        values = dict(message.template.values)
        body = [{"type": "text", "text": one_line(values.get(name, ""))} for name in template.parameters]
        params = [{"type": "body", "parameters": body}] if body else []
        return await self.client.send_template(
            chat_id, name=template.name, language=TemplateLanguage(template.language), params=params
        )

    def _accepted(self, chat_id: str) -> AfterSent:
        async def record(sent: SentMessage) -> None:
            await self.records.sent(chat_id, "accepted", platform_message_id=sent.id)

        return record

    async def _given_up(self, chat_id: str, failure: SendFailed) -> None:
        recorded = [self.records.sent(chat_id, "failed", detail=str(failure.cause))]
        if failure.verdict.kind == "unreachable":
            recorded.append(self.records.unreachable(chat_id))
        await asyncio.gather(*recorded)

    async def stop(self, timeout: float = 10.0) -> None:
        if self._handling:
            await asyncio.wait(list(self._handling), timeout=timeout)
        await self.sender.close(timeout)
        await self.session.aclose()


def _values(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The `value` of every messages change of every entry (the Cloud API
    batches), skipping whatever does not have the published shape."""
    return [
        change["value"]
        for entry in _dicts(body.get("entry"))
        for change in _dicts(entry.get("changes"))
        if change.get("field") == "messages" and isinstance(change.get("value"), dict)
    ]


def _status(status: dict[str, Any]) -> dict[str, Any]:
    """A delivery status as ChannelRecords stores it; a recipient WhatsApp
    calls undeliverable is to be marked unreachable."""
    errors = status.get("errors") or [{}]
    code, title = errors[0].get("code"), errors[0].get("title") or errors[0].get("message")
    undeliverable = status.get("status") == "failed" and code in UNREACHABLE_CODES
    return {
        "platform_message_id": str(status.get("id")),
        "status": str(status.get("status"))[:16],
        "detail": f"{code}: {title}" if code else None,
        "unreachable": str(status["recipient_id"]) if undeliverable and status.get("recipient_id") else None,
    }


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def whatsapp_secrets() -> WhatsAppSecrets:
    """The three WhatsApp secrets from the environment, or one clear line."""
    names = ("WHATSAPP_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN")
    values = {name: env_secret(name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise ConfigError(f"whatsapp.enabled is true but {', '.join(missing)} not set in the environment")
    return WhatsAppSecrets(*(values[name].get_secret_value() for name in names))


def plugin(app: App) -> WhatsAppChannel:
    """Every secret and the phone number id are checked here, before anything connects."""
    secrets = whatsapp_secrets()
    if not app.settings.whatsapp.phone_number_id:
        raise ConfigError("whatsapp.enabled is true but whatsapp.phone_number_id is not set")
    return WhatsAppChannel.of(app, secrets)


async def sender(app: App) -> WhatsAppChannel:
    return plugin(app)
