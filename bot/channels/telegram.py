"""Telegram through python-telegram-bot: a thin channel.

Updates become Inbound messages for the dispatcher; Outbound messages become
Bot API calls through the paced sender. No conversation state lives here (the
engine owns it) and PTB's Application, ConversationHandler, JobQueue and
persistence are not used. Polling and the webhook feed the same `handle`.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.channels.pacing import Delivery, Pace, PacedSender, Recipient, SendFailed, Verdict, delivered
from bot.channels.render import split_text, utf16_length
from bot.config import TelegramSettings
from bot.dispatcher import Dispatcher, Outcome
from bot.media import MediaStore
from bot.messages import Inbound, Location, Media, Outbound, Refusal
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

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True)
class Part:
    """One sendMessage: a piece of text and, on the last piece, the keyboard."""

    text: str
    markup: Markup | None = None


def render(message: Outbound, *, clear_reply_keyboard: bool = False) -> list[Part]:
    """Choices as an inline keyboard, one numbered button a row (the number is
    what a typed answer may use); a contact or location request as a reply
    keyboard button. Text goes as plain text, with no parse_mode, so nothing
    in a name (* _ ` [) can be taken for formatting."""
    pieces = split_text(message.text, MAX_TEXT, utf16_length)
    markup: Markup | None = None
    if message.choices:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(f"{number}. {choice.title}", callback_data=choice.key)]
             for number, choice in enumerate(message.choices, 1)]
        )  # fmt: skip
    elif message.request:
        request = message.request
        button = KeyboardButton(
            request.label, **({"request_contact": True} if request.kind == "contact" else {"request_location": True})
        )
        markup = ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
    elif clear_reply_keyboard:
        markup = ReplyKeyboardRemove()
    return [Part(piece) for piece in pieces[:-1]] + [Part(pieces[-1], markup)]


def classify(error: BaseException) -> Verdict:
    """How the paced sender should treat a failed Bot API call."""
    if isinstance(error, RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns about int retry_after
            warnings.simplefilter("ignore")
            after = error.retry_after
        return Verdict("retry_after", after.total_seconds() if isinstance(after, timedelta) else float(after))
    if isinstance(error, Forbidden):  # blocked by the user, or removed from the group
        return Verdict("unreachable")
    if isinstance(error, BadRequest | InvalidToken):
        return Verdict("fatal")
    if isinstance(error, NetworkError):  # 5xx, timeouts, connection errors
        return Verdict("transient")
    return Verdict("fatal")


def command(text: str) -> str:
    """'/start@PayungBot' and '/start payload' are '/start' to the engine."""
    if not text.startswith("/"):
        return text
    return text.split(maxsplit=1)[0].split("@", 1)[0]


class TelegramChannel:
    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        bot: Bot,
        settings: TelegramSettings,
        db: Database,
        catalogue: Catalogue,
        media: MediaStore,
        metrics: Metrics,
        max_file_mb: int,
    ):
        self.dispatcher = dispatcher
        self.max_file_bytes = max_file_mb * 1024 * 1024
        self.bot = bot
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
            classify=classify,
            on_failure=self._given_up,
            metrics=metrics,
            in_flight=pace.in_flight,
        )

    # -- lifecycle ---------------------------------------------------------

    async def start(self, *, webhook_secret: str | None = None) -> None:
        """Check the token and the API (getMe), register the commands, and
        point Telegram at the webhook, or away from it for polling."""
        await self.bot.initialize()
        commands = {
            language: [BotCommand(name, self.catalogue[language](f"commands.{name}")) for name in COMMANDS]
            for language in LANGUAGES
        }
        for language, described in commands.items():
            await self.bot.set_my_commands(described, language_code=language)
        await self.bot.set_my_commands(commands[LANGUAGES[0]])  # everyone else: Indonesian
        if self.settings.mode == "webhook":
            await self.bot.set_webhook(
                self.settings.webhook_url, secret_token=webhook_secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        else:
            await self.bot.delete_webhook()

    async def stop(self, timeout: float = 10.0) -> None:
        await self.sender.close(timeout)
        await self.bot.shutdown()

    async def poll(self) -> None:
        """getUpdates forever. Each batch is handled before the next offset
        confirms it, so a crash means redelivery (which dedupe absorbs), never
        a lost message."""
        offset = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.settings.poll_timeout, allowed_updates=list(ALLOWED_UPDATES)
                )
            except (NetworkError, RetryAfter) as error:
                failures += 1
                log.warning("getUpdates failed (%s); trying again", error)
                await asyncio.sleep(min(2**failures, 60))
                continue
            failures = 0
            await asyncio.gather(*(self._handle_logged(update) for update in updates))
            if updates:
                offset = updates[-1].update_id + 1

    async def _handle_logged(self, update: Update) -> None:
        try:
            await self.handle(update)
        except Exception:
            # The person was not answered; getUpdates will not offer this
            # update again, so say so in the log rather than loop on it.
            log.exception("telegram update %s could not be handled", update.update_id)

    # -- inbound -----------------------------------------------------------

    async def handle(self, update: Update) -> Outcome | None:
        """Handle one update; None when it is nothing Payung answers."""
        inbound = await self.inbound(update)
        if inbound is None:
            log.debug("telegram update %s ignored", update.update_id)
            return None
        self.metrics.messages_in.labels(NAME).inc()
        return await self.dispatcher.handle(inbound, self._replier(inbound))

    async def inbound(self, update: Update) -> Inbound | None:
        if update.callback_query is not None:
            return await self._tapped(update)
        message = update.message
        if message is None or message.from_user is None or message.chat.type != "private":
            # Edits, channel posts, group chatter (the operators' group only
            # receives notifications: nobody's data is shown to a group).
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

    async def _tapped(self, update: Update) -> Inbound | None:
        """A button tap: answer it (the spinner stops), take the keyboard off
        the old message so a second tap cannot repeat the step, go on."""
        query = update.callback_query
        message = query.message
        if message is None or message.chat.type != "private":
            await self._quietly(query.answer())
            return None
        done = [query.answer()]
        if isinstance(message, Message):
            done.append(query.edit_message_reply_markup(reply_markup=None))
        await asyncio.gather(*(self._quietly(call) for call in done))
        return Inbound(channel=NAME, chat_id=str(message.chat.id), message_id=str(update.update_id),
                       choice=query.data or "")  # fmt: skip

    @staticmethod
    async def _quietly(call) -> None:
        """Keyboard housekeeping may fail (a message too old to edit); the
        conversation goes on regardless."""
        try:
            await call
        except TelegramError as error:
            log.info("telegram housekeeping call failed: %s", error)

    async def _download(self, message: Message) -> Media | Refusal:
        limit = self.max_file_bytes
        if message.photo:
            item, mime_type, suffix = message.photo[-1], "image/jpeg", ".jpg"
        else:
            item = message.document
            mime_type = item.mime_type or "application/octet-stream"
            suffix = mimetypes.guess_extension(mime_type) or ".bin"
        if (item.file_size or 0) > limit:
            return "file_too_large"
        file = await item.get_file()
        if (file.file_size or 0) > limit:
            return "file_too_large"
        return await self.media.save(NAME, file.download_to_drive, mime_type=mime_type, suffix=suffix)

    # -- outbound ----------------------------------------------------------

    def _replier(self, inbound: Inbound):
        recipient = Recipient(inbound.chat_id)
        # A shared contact or location used the reply keyboard; take it away.
        clear = inbound.contact_phone is not None or inbound.location is not None

        async def send(message: Outbound) -> None:
            self.submit(recipient, message, clear_reply_keyboard=clear)

        return send

    def submit(self, recipient: Recipient, message: Outbound, *, clear_reply_keyboard: bool = False) -> None:
        for part in render(message, clear_reply_keyboard=clear_reply_keyboard):
            self.sender.submit(recipient, self._call(recipient, part))

    async def deliver(self, chat_id: str, message: Outbound, *, now: datetime) -> Delivery:
        """Send and wait for the outcome (the outbox marks each row by it)."""
        recipient = Recipient(chat_id)
        outcomes = [self.sender.deliver(recipient, self._call(recipient, part)) for part in render(message)]
        return await delivered(outcomes, lambda sent: sent.message_id)

    def _call(self, recipient: Recipient, part: Part):
        return partial(self.bot.send_message, chat_id=recipient.chat_id, text=part.text, reply_markup=part.markup)

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
