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
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import ModuleType
from typing import Any, Protocol

from bot import operator_commands
from bot.channels.pacing import Delivery, Pace, PacedSender, Recipient, Send, SendFailed, Verdict
from bot.channels.render import split_text, utf16_length
from bot.config import TelegramSettings
from bot.dispatcher import Dispatcher, Outcome
from bot.media import MediaStore
from bot.messages import Inbound, Location, Media, Outbound, Refusal, Request
from bot.metrics import Metrics
from handlers.texts import LANGUAGES, Catalogue
from storage.chats import mark_unreachable
from storage.db import Database

log = logging.getLogger(__name__)

NAME = "telegram"
MAX_TEXT = 4096
# Only what Payung answers; Telegram then does not even send the rest.
ALLOWED_UPDATES = ("message", "callback_query")
COMMANDS = ("start", "menu", "batal", "bantuan", "bahasa")


@dataclass(frozen=True)
class Part:
    """One sendMessage: a piece of text and, on the last piece, its keyboard,
    described without any library's classes."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, callback data), one a row
    request: Request | None = None  # a reply-keyboard button asking for a contact or location
    clear_reply_keyboard: bool = False


def render(message: Outbound, *, clear_reply_keyboard: bool = False) -> list[Part]:
    """Choices as an inline keyboard, one numbered button a row (the number is
    what a typed answer may use); a contact or location request as a reply
    keyboard button. Text goes as plain text, with no parse_mode, so nothing
    in a name (* _ ` [) can be taken for formatting."""
    pieces = split_text(message.text, MAX_TEXT, utf16_length)
    buttons = tuple((f"{number}. {choice.title}", choice.key) for number, choice in enumerate(message.choices, 1))
    last = Part(pieces[-1], buttons, None if buttons else message.request,
                clear_reply_keyboard and not buttons and message.request is None)  # fmt: skip
    return [Part(piece) for piece in pieces[:-1]] + [last]


def command(text: str) -> str:
    """'/start@PayungBot' and '/start payload' are '/start' to the engine."""
    if not text.startswith("/"):
        return text
    return text.split(maxsplit=1)[0].split("@", 1)[0]


Download = Callable[[Any], Awaitable[Any]]  # given a target path, fetch the file there


class BotApi(Protocol):
    """What a Telegram library must do for the channel. Updates and messages
    are the library's own objects; the channel reads them by the Bot API's
    field names, which both libraries keep."""

    library: str
    error: type[Exception]  # the library's base class for a failed Bot API call
    token_error: type[Exception] | tuple[type[Exception], ...]  # raised when Telegram rejects the token

    async def open(self) -> None: ...  # getMe: checks the token and the API
    async def close(self) -> None: ...
    def parse(self, data: dict[str, Any]) -> Any: ...  # a webhook body, as the library's Update
    async def dispatch(self, update: Any, handle: Callable[[Any], Awaitable[Outcome | None]]) -> Outcome | None: ...
    async def get_updates(self, *, offset: int | None, timeout: int, allowed_updates: list[str]) -> list[Any]: ...
    async def send(self, chat_id: str, part: Part) -> Any: ...  # the sent Message
    async def send_file(self, chat_id: str, item: Media) -> Any: ...  # a photo or document; the sent Message
    async def answer_tap(self, query_id: str) -> None: ...
    async def drop_keyboard(self, chat_id: str, message_id: int) -> None: ...
    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None: ...
    async def set_webhook(self, url: str, *, secret: str | None, allowed_updates: list[str]) -> None: ...
    async def delete_webhook(self) -> None: ...
    async def file(self, file_id: str) -> tuple[int | None, Download]: ...  # size, and how to fetch it
    def classify(self, error: BaseException) -> Verdict: ...
    def accessible(self, message: Any) -> bool: ...  # False for an InaccessibleMessage


class AlikeCalls:
    """The part of BotApi both libraries spell alike. Each mirrors the Bot
    API: the same method names and keyword arguments on its Bot, the same
    class names in its types module. So it is written once, over the
    adapter's `bot` and `types`."""

    bot: Any
    types: ModuleType  # telegram, or aiogram.types

    def markup(self, part: Part) -> Any:
        types = self.types
        if part.buttons:
            return types.InlineKeyboardMarkup(inline_keyboard=[
                [types.InlineKeyboardButton(text=label, callback_data=data)] for label, data in part.buttons
            ])  # fmt: skip
        if part.request is not None:
            asks = {"request_contact": True} if part.request.kind == "contact" else {"request_location": True}
            return types.ReplyKeyboardMarkup(keyboard=[[types.KeyboardButton(text=part.request.label, **asks)]],
                                             resize_keyboard=True, one_time_keyboard=True)  # fmt: skip
        return types.ReplyKeyboardRemove() if part.clear_reply_keyboard else None

    async def send(self, chat_id: str, part: Part) -> Any:
        return await self.bot.send_message(chat_id=chat_id, text=part.text, reply_markup=self.markup(part))

    def upload(self, path: str) -> Any:
        """A local file as the library takes it for sending."""
        raise NotImplementedError

    async def send_file(self, chat_id: str, item: Media) -> Any:
        if item.mime_type.startswith("image/"):
            return await self.bot.send_photo(chat_id=chat_id, photo=self.upload(item.path))
        return await self.bot.send_document(chat_id=chat_id, document=self.upload(item.path))

    async def answer_tap(self, query_id: str) -> None:
        await self.bot.answer_callback_query(query_id)

    async def drop_keyboard(self, chat_id: str, message_id: int) -> None:
        await self.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)

    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None:
        listed = [self.types.BotCommand(command=name, description=about) for name, about in commands]
        await self.bot.set_my_commands(listed, language_code=language)

    async def set_webhook(self, url: str, *, secret: str | None, allowed_updates: list[str]) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=allowed_updates)

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook()

    def accessible(self, message: Any) -> bool:
        return isinstance(message, self.types.Message)


class TelegramChannel:
    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        api: BotApi,
        settings: TelegramSettings,
        db: Database,
        catalogue: Catalogue,
        media: MediaStore,
        metrics: Metrics,
        max_file_mb: int,
    ):
        self.dispatcher = dispatcher
        self.max_file_bytes = max_file_mb * 1024 * 1024
        self.api = api
        self.settings = settings
        self.db = db
        self.catalogue = catalogue
        self.media = media
        self.metrics = metrics
        pace = settings.pace
        self.in_flight = pace.in_flight
        self.sender = PacedSender(
            channel=NAME,
            pace=Pace(pace.overall_per_second, pace.private_per_second, pace.group_per_minute),
            classify=api.classify,
            on_failure=self._given_up,
            metrics=metrics,
            in_flight=pace.in_flight,
        )

    # -- lifecycle ---------------------------------------------------------

    async def start(self, *, webhook_secret: str | None = None) -> None:
        """Check the token and the API (getMe), register the commands, and
        point Telegram at the webhook, or away from it for polling."""
        await self.api.open()
        commands = {
            language: [(name, self.catalogue[language](f"commands.{name}")) for name in COMMANDS]
            for language in LANGUAGES
        }
        for language, described in commands.items():
            await self.api.set_commands(described, language)
        await self.api.set_commands(commands[LANGUAGES[0]], None)  # everyone else: Indonesian
        if self.settings.mode == "webhook":
            await self.api.set_webhook(self.settings.webhook_url, secret=webhook_secret,
                                       allowed_updates=list(ALLOWED_UPDATES))  # fmt: skip
        else:
            await self.api.delete_webhook()

    async def stop(self, timeout: float = 10.0) -> None:
        await self.sender.close(timeout)
        await self.api.close()

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
            await asyncio.gather(*(self._handle_logged(update) for update in updates))
            if updates:
                offset = updates[-1].update_id + 1

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
        return await self.dispatcher.handle(inbound, self._replier(inbound))

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
        base = {"channel": NAME, "chat_id": str(message.chat.id), "message_id": str(update.update_id),
                "received_at": message.date}  # fmt: skip
        if message.contact is not None:
            if message.contact.user_id != message.from_user.id:
                return Inbound(**base, refused="foreign_contact")
            phone = message.contact.phone_number
            return Inbound(**base, contact_phone=phone if phone.startswith("+") else f"+{phone}")
        if message.location is not None:
            return Inbound(**base, location=Location(message.location.latitude, message.location.longitude))
        text = command(message.text or message.caption or "")
        if message.photo or message.document:
            media = await self._download(message)
            if isinstance(media, str):
                return Inbound(**base, text=text, refused=media)
            return Inbound(**base, text=text, media=(media,))
        return Inbound(**base, text=text)

    async def _operator_command(self, update: Any, message: Any) -> None:
        who = message.from_user
        command = operator_commands.Command(NAME, str(update.update_id), who.id, who.username or who.full_name,
                                            message.text)  # fmt: skip
        engine = self.dispatcher
        reply = await asyncio.to_thread(operator_commands.run, command, db=self.db, services=engine.services,
                                        now=engine.clock())  # fmt: skip
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
        return Inbound(channel=NAME, chat_id=str(message.chat.id), message_id=str(update.update_id),
                       choice=query.data or "")  # fmt: skip

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
            item = message.document
            mime_type = item.mime_type or "application/octet-stream"
            suffix = mimetypes.guess_extension(mime_type) or ".bin"
        if (item.file_size or 0) > limit:
            return "file_too_large"
        size, download = await self.api.file(item.file_id)
        if (size or 0) > limit:
            return "file_too_large"
        return await self.media.save(NAME, download, mime_type=mime_type, suffix=suffix)

    # -- outbound ----------------------------------------------------------

    def _replier(self, inbound: Inbound):
        recipient = Recipient(inbound.chat_id)
        # A shared contact or location used the reply keyboard; take it away.
        clear = inbound.contact_phone is not None or inbound.location is not None

        async def send(message: Outbound) -> None:
            self.submit(recipient, message, clear_reply_keyboard=clear)

        return send

    def submit(self, recipient: Recipient, message: Outbound, *, clear_reply_keyboard: bool = False) -> None:
        for call in self._calls(recipient.chat_id, message, clear_reply_keyboard):
            self.sender.submit(recipient, call)

    async def deliver(self, chat_id: str, message: Outbound, *, now: datetime) -> Delivery:
        """Send and wait for the outcome (the outbox marks each row by it)."""
        return await self.sender.deliver_all(Recipient(chat_id), self._calls(chat_id, message), lambda sent: sent.message_id)

    def _calls(self, chat_id: str, message: Outbound, clear_reply_keyboard: bool = False) -> list[Send]:
        """The Bot API calls for a message: its text in parts, then its files."""
        parts = render(message, clear_reply_keyboard=clear_reply_keyboard)
        return ([partial(self.api.send, chat_id, part) for part in parts]
                + [partial(self.api.send_file, chat_id, item) for item in message.attachments])  # fmt: skip

    def notify_operators(self, message: Outbound) -> bool:
        """Post to the operators' group; False when none is configured."""
        if self.settings.operator_chat_id is None:
            return False
        self.submit(Recipient(str(self.settings.operator_chat_id), is_group=True), message)
        return True

    async def _given_up(self, chat_id: str, failure: SendFailed) -> None:
        if failure.verdict.kind == "unreachable":
            with self.db.transaction() as session:
                mark_unreachable(session, channel=NAME, chat_id=chat_id)
