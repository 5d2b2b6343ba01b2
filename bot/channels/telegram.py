"""Telegram: a thin channel, whichever library speaks the Bot API.

Updates become Inbound messages for the dispatcher; Outbound messages become
Bot API calls through the paced sender. No conversation state lives here (the
engine owns it). Polling and the webhook feed the same `handle`.

What differs between python-telegram-bot and aiogram (building the client,
parsing an update, markup classes, errors, downloads) sits behind `BotApi`,
in telegram_ptb.py and telegram_aiogram.py. Everything else is here, once:
rendering decisions, limits, splitting, reading an update, pacing. Both
libraries' update objects carry the Bot API's own field names, so one reading
serves both.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import mimetypes
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.channel_records import ChannelRecords
from bot.channels.pacing import Call, Pace, PacedSender, Recipient, SendFailed
from bot.channels.render import split_text, utf16_length
from bot.channels.shared_pace import shared_windows
from bot.channels.telegram_api import BotApi, Part
from bot.config import ConfigError, TelegramSettings, env_secret
from bot.dispatcher import ChatLocks, Dispatcher, Outcome
from bot.media import MediaStore
from bot.metrics import Metrics
from bot.operator_commands import Command, OperatorCommands
from bot.outbound import Sending
from bot.types import Delivery, Finished, Readiness, Sendable
from handlers.messages import Capabilities, Inbound, Location, Media, Outbound, Refusal
from handlers.texts import LANGUAGES, Catalogue

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

NAME = "telegram"
MAX_TEXT = 4096
# A person proves their number by sharing their own contact (user_id matches).
CAPABILITIES = Capabilities(verified_phone="contact", buttons=True, max_text=MAX_TEXT)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts
# Only what Payung answers; Telegram then does not even send the rest.
ALLOWED_UPDATES = ("message", "callback_query")
COMMANDS = ("start", "menu", "batal", "bantuan", "bahasa")


def render(message: Outbound, *, clear_reply_keyboard: bool = False) -> list[Part]:
    """Choices as an inline keyboard, one numbered button a row (the number is
    what a typed answer may use); a contact or location request as a reply
    keyboard button. Text goes as plain text, with no parse_mode, so nothing
    in a name (* _ ` [) can be taken for formatting."""
    pieces = split_text(message.text, MAX_TEXT, utf16_length)
    buttons = tuple((f"{number}. {choice.title}", choice.key) for number, choice in enumerate(message.choices, 1))
    last = Part(
        pieces[-1],
        buttons,
        None if buttons else message.request,
        clear_reply_keyboard and not buttons and message.request is None,
    )
    return [Part(piece) for piece in pieces[:-1]] + [last]


def command(text: str) -> str:
    """'/start@PayungBot' and '/start payload' are '/start' to the engine."""
    if not text.startswith("/"):
        return text
    return text.split(maxsplit=1)[0].split("@", 1)[0]


class TelegramChannel:
    name = NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        api: BotApi,
        settings: TelegramSettings,
        catalogue: Catalogue,
        media: MediaStore,
        metrics: Metrics,
        sending: Sending,
        records: ChannelRecords,
        commands: OperatorCommands,
        max_file_mb: int,
        webhook_secret: str = "",
    ):
        self.dispatcher = dispatcher
        self.max_file_bytes = max_file_mb * 1024 * 1024
        self.api = api
        self.settings = settings
        self.catalogue = catalogue
        self.media = media
        self.metrics = metrics
        self.sending = sending
        self.records = records
        self.commands = commands
        self.webhook_secret = webhook_secret
        pace = settings.pace
        self.in_flight = pace.in_flight
        limits = Pace(pace.overall_per_second, pace.private_per_second, pace.group_per_minute, pace.jitter)
        self.sender = PacedSender(
            channel=NAME,
            pace=limits,
            classify=api.classify,
            on_failure=self._given_up,
            metrics=metrics,
            in_flight=pace.in_flight,
            shared=shared_windows(
                records.db, records.writes, channel=NAME, pace=limits, across_processes=pace.across_processes
            ),
        )
        # Telegram may post a chat's next update before the last one is
        # answered (max_connections > 1): a tap's network calls must not let
        # the text after it overtake it.
        self._chats_in_order = ChatLocks()

    @classmethod
    def of(cls, app: App, *, token: str, webhook_secret: str = "") -> TelegramChannel:
        return cls(
            api=telegram_api(app.settings.telegram, token),
            settings=app.settings.telegram,
            records=ChannelRecords(NAME, app.db, app.clock, app.writes),
            commands=OperatorCommands(
                db=app.db,
                notices=app.notices,
                catalogue=app.services.catalogue,
                operators=app.settings.telegram.operators,
                clock=app.clock,
            ),
            webhook_secret=webhook_secret,
            **app.channel_parts(),
        )

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Check the token and the API (getMe), register the commands, and
        point Telegram at the webhook, or away from it for polling. A bad
        token or an unreachable API is one clear line."""
        async with self.start_errors():
            await self.api.open()
            commands = {
                language: [(name, self.catalogue[language](f"commands.{name}")) for name in COMMANDS]
                for language in LANGUAGES
            }
            for language, described in commands.items():
                await self.api.set_commands(described, language)
            await self.api.set_commands(commands[LANGUAGES[0]], None)  # everyone else: Indonesian
            if self.settings.mode == "webhook":
                await self.api.set_webhook(
                    self.settings.webhook_url, secret=self.webhook_secret, allowed_updates=list(ALLOWED_UPDATES)
                )
            else:
                await self.api.delete_webhook()

    @contextlib.asynccontextmanager
    async def start_errors(self) -> AsyncIterator[None]:
        """A failed start as one line, with the library's client closed."""
        api = self.api
        try:
            yield
        except BaseException as error:
            await api.close()
            if isinstance(error, api.token_error):
                raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN (revoked or mistyped?)") from None
            if not isinstance(error, api.error):
                raise
            if api.classify(error).kind in ("transient", "retry_after"):
                raise ConfigError(f"cannot reach the Telegram Bot API at {self.settings.base_url}: {error}") from None
            raise ConfigError(f"Telegram refused to start the bot: {error}") from None

    async def run(self) -> None:
        if self.settings.mode == "polling":
            await self.poll()

    async def stop(self, timeout: float = 10.0) -> None:
        await self.sender.close(timeout)
        await self.api.close()

    def template(self, key: str, language: str) -> Readiness:
        return "missing"  # the Bot API has no reply window

    def routes(self) -> list[BaseRoute]:
        """The webhook, in webhook mode: it answers 200 only once the update
        is committed (or was seen before), else 500 so Telegram redelivers."""
        if self.settings.mode != "webhook":
            return []
        return [Route(self.settings.webhook_path, self._webhook, methods=["POST"])]

    async def _webhook(self, request: HttpRequest) -> Response:
        received = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(received, self.webhook_secret.encode()):
            return Response(status_code=401)
        update = self._parse_update(await request.body())
        if update is None:
            return Response()  # 200: Telegram must stop redelivering garbage
        try:
            async with self._chats_in_order.hold(chat_of(update)):
                outcome = await self.handle(update)
        except Exception:
            log.exception("telegram update %s failed; asking for redelivery", update.update_id)
            return Response(status_code=500)
        return Response(status_code=500 if outcome is Outcome.FAILED else 200)

    def _parse_update(self, body: bytes) -> Any:
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
            return self.api.parse(data)
        except Exception as error:  # a library raises whatever a malformed field causes
            log.warning("telegram webhook: ignoring a body that is not an update (%s)", type(error).__name__)
            return None

    async def poll(self) -> None:
        """getUpdates forever. Each batch is handled before the next offset
        confirms it, so a crash means redelivery (which dedupe absorbs), never
        a lost message."""
        offset = None
        failures = 0
        while True:
            try:
                updates = await self.api.get_updates(
                    offset=offset, timeout=self.settings.poll_timeout, allowed_updates=list(ALLOWED_UPDATES)
                )
            except self.api.error as error:
                if self.api.classify(error).kind not in ("transient", "retry_after"):
                    raise
                failures += 1
                log.warning("getUpdates failed (%s); trying again", error)
                await asyncio.sleep(min(2**failures, 60))
                continue
            failures = 0
            # Chats side by side, each chat's updates in order: a tap's network
            # calls must not let the NIK typed after it overtake it.
            by_chat: dict[Any, list[Any]] = {}
            for update in updates:
                by_chat.setdefault(chat_of(update), []).append(update)
            await asyncio.gather(*(self._in_order(chat_updates) for chat_updates in by_chat.values()))
            if updates:
                offset = updates[-1].update_id + 1

    async def _in_order(self, updates: list[Any]) -> None:
        for update in updates:
            await self._handle_logged(update)

    async def _handle_logged(self, update: Any) -> None:
        try:
            await self.handle(update)
        except Exception:
            # The person was not answered; getUpdates will not offer this
            # update again, so say so in the log rather than loop on it.
            log.exception("telegram update %s could not be handled", update.update_id)

    # -- inbound -----------------------------------------------------------

    async def handle(self, update: Any) -> Outcome | None:
        """Handle one update (the library's); None when it is nothing Payung answers."""
        return await self.api.dispatch(update, self._answer)

    async def _answer(self, update: Any) -> Outcome | None:
        inbound = await self.inbound(update)
        if inbound is None:
            log.debug("telegram update %s ignored", update.update_id)
            return None
        self.metrics.messages_in.labels(NAME).inc()
        await self.sending.room()  # meanwhile Telegram keeps the next updates
        with self.sending.answering():
            return await self.dispatcher.handle(inbound, self.sending.replier(self, inbound))

    async def inbound(self, update: Any) -> Inbound | None:
        if update.callback_query is not None:
            return await self._tapped(update)
        message = update.message
        if message is None or message.from_user is None:
            return None  # edits, channel posts
        if message.chat.type != "private":
            # Group chatter is never answered, so nobody's data is shown to a
            # group; only operators' commands in their own group are.
            if message.chat.id == self.settings.operator_chat_id and message.text:
                await self._operator_command(update, message)
            return None
        base = {
            "channel": NAME,
            "chat_id": str(message.chat.id),
            "message_id": str(update.update_id),
            "received_at": message.date,
        }
        if message.contact is not None:
            if message.contact.user_id != message.from_user.id:
                return Inbound(**base, refused="foreign_contact")
            phone = message.contact.phone_number
            return Inbound(**base, contact_phone=phone if phone.startswith("+") else f"+{phone}")
        if message.location is not None:
            return Inbound(**base, location=Location(message.location.latitude, message.location.longitude))
        text = command(message.text or message.caption or "")
        if message.photo or message.document or message.voice or message.audio:
            media = await self._download(message)
            if isinstance(media, str):
                return Inbound(**base, text=text, refused=media)
            return Inbound(**base, text=text, media=(replace(media, caption=message.caption or ""),))
        return Inbound(**base, text=text)

    async def _operator_command(self, update: Any, message: Any) -> None:
        who = message.from_user
        command = Command(NAME, str(update.update_id), who.id, who.username or who.full_name, message.text)
        reply = await asyncio.to_thread(self.commands.run, command)
        if reply is not None:
            self.notify_operators(Outbound(reply))

    async def _tapped(self, update: Any) -> Inbound | None:
        """A button tap: answer it (the spinner stops), take the keyboard off
        the old message so a second tap cannot repeat the step, go on."""
        query = update.callback_query
        message = query.message
        if message is None or message.chat.type != "private":
            await self._quietly(self.api.answer_tap(query.id))
            return None
        done = [self.api.answer_tap(query.id)]
        if self.api.accessible(message):
            done.append(self.api.drop_keyboard(str(message.chat.id), message.message_id))
        await asyncio.gather(*(self._quietly(call) for call in done))
        return Inbound(
            channel=NAME, chat_id=str(message.chat.id), message_id=str(update.update_id), choice=query.data or ""
        )

    async def _quietly(self, call) -> None:
        """Keyboard housekeeping may fail (a message too old to edit); the
        conversation goes on regardless."""
        try:
            await call
        except self.api.error as error:
            log.info("telegram housekeeping call failed: %s", error)

    async def _download(self, message: Any) -> Media | Refusal:
        limit = self.max_file_bytes
        if message.photo:
            item, mime_type, suffix = message.photo[-1], "image/jpeg", ".jpg"
        else:
            item = message.document or message.voice or message.audio
            mime_type = item.mime_type or ("audio/ogg" if message.voice else "application/octet-stream")
            suffix = mimetypes.guess_extension(mime_type) or ".bin"
        if (item.file_size or 0) > limit:
            return "file_too_large"
        size, download = await self.api.file(item.file_id)
        if (size or 0) > limit:
            return "file_too_large"
        return await self.media.save(NAME, download, mime_type=mime_type, suffix=suffix)

    # -- outbound ----------------------------------------------------------

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
        # A shared contact or location used the reply keyboard; take it away.
        clear = answering is not None and (answering.contact_phone is not None or answering.location is not None)
        self.sender.submit_all(Recipient(chat_id), self._calls(chat_id, message, clear), finished=finished)

    async def deliver(self, chat_id: str, message: Outbound, how: Sendable, *, language: str) -> Delivery:
        return await self.sender.deliver_all(Recipient(chat_id), self._calls(chat_id, message), lambda sent_id: sent_id)

    def _calls(self, chat_id: str, message: Outbound, clear_reply_keyboard: bool = False) -> list[Call]:
        """The Bot API calls for a message: its text in parts, then its files."""
        parts = render(message, clear_reply_keyboard=clear_reply_keyboard)
        return [partial(self.api.send, chat_id, part) for part in parts] + [
            partial(self.api.send_file, chat_id, item) for item in message.attachments
        ]

    def notify_operators(self, message: Outbound) -> bool:
        """Post to the operators' group; False when none is configured."""
        if self.settings.operator_chat_id is None:
            return False
        group = Recipient(str(self.settings.operator_chat_id), is_group=True)
        for call in self._calls(group.chat_id, message):
            self.sender.submit(group, call)
        return True

    async def _given_up(self, chat_id: str, failure: SendFailed) -> None:
        if failure.verdict.kind == "unreachable":
            await self.records.unreachable(chat_id)


def telegram_api(settings: TelegramSettings, token: str) -> BotApi:
    """The Bot API client of the configured library. Each adapter is imported
    only when chosen, so a deployment loads one library, not both."""
    if settings.library == "aiogram":
        try:
            from bot.channels.telegram_aiogram import AiogramApi
        except ImportError:
            install = "pip install -e '.[aiogram]'"
            raise ConfigError(f"telegram.library is aiogram but aiogram is not installed: {install}") from None
        return AiogramApi(token, settings)
    from bot.channels.telegram_ptb import PtbApi

    return PtbApi(token, settings)


def telegram_token() -> str:
    """The bot token, checked before anything connects."""
    token = env_secret("TELEGRAM_BOT_TOKEN")
    if token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (get one from @BotFather)")
    if not TOKEN_SHAPE.fullmatch(token.get_secret_value()):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then 30+ characters)")
    return token.get_secret_value()


def webhook_secret(settings: TelegramSettings) -> str:
    """The webhook's secret token in webhook mode; empty when polling."""
    if settings.mode != "webhook":
        return ""
    if not settings.webhook_url:
        raise ConfigError("telegram.mode is webhook but telegram.webhook_url is not set")
    secret = env_secret("TELEGRAM_WEBHOOK_SECRET")
    if secret is None or not SECRET_SHAPE.fullmatch(secret.get_secret_value()):
        raise ConfigError("webhook mode needs TELEGRAM_WEBHOOK_SECRET: 1-256 of A-Z a-z 0-9 _ -")
    return secret.get_secret_value()


async def sender(app: App) -> TelegramChannel | None:
    """Sending needs only the token, not the webhook secret; without a
    token, Telegram's reminders wait for a process that has one."""
    if env_secret("TELEGRAM_BOT_TOKEN") is None:
        return None
    channel = TelegramChannel.of(app, token=telegram_token())
    async with channel.start_errors():
        await channel.api.open()
    return channel


def plugin(app: App) -> TelegramChannel:
    """Every secret is checked here, before anything connects."""
    return TelegramChannel.of(app, token=telegram_token(), webhook_secret=webhook_secret(app.settings.telegram))


def chat_of(update: Any) -> Any:
    """The chat an update belongs to (the update itself when it names none)."""
    message = update.message or (update.callback_query.message if update.callback_query else None)
    return message.chat.id if message is not None else ("update", update.update_id)
