"""The Telegram channel's BotApi through python-telegram-bot 22 (the default).

Only the Bot client is used: PTB's Application, ConversationHandler, JobQueue
and persistence are not (the engine owns state and scheduling)."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import telegram
from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.channels.pacing import Verdict
from bot.channels.telegram_api import AlikeCalls, Download, Part
from bot.channels.telegram_ptb_request import AiohttpRequest
from bot.config import TelegramSettings
from bot.dispatcher import Outcome


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


class PtbApi(AlikeCalls):
    library = "python-telegram-bot"
    types = telegram
    error = TelegramError
    token_error = InvalidToken
    classify = staticmethod(classify)

    def __init__(self, token: str, settings: TelegramSettings):
        self.bot = Bot(
            token,
            base_url=settings.base_url,
            base_file_url=settings.base_file_url,
            # Replies to many chats go out concurrently (paced, at most
            # pace.in_flight at once); PTB's default pool of one connection
            # would queue them and time out.
            request=AiohttpRequest(settings.pace.in_flight),
            get_updates_request=AiohttpRequest(1),
        )
        warnings.filterwarnings("ignore", "Please use 'Bot.sendMessage'", PTBUserWarning)

    async def open(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()
        await self.bot.request.shutdown()  # also when initialize() failed: shutdown() then skips it

    async def send(self, chat_id: str, part: Part) -> int:
        """Through do_api_request, for Telegram's answer as it came:
        send_message() builds a whole Message of every reply (de_json, about
        95 us here, 6% of the bot's CPU under load) for one id. PTB warns
        that send_message exists; the filter in __init__ quiets that one."""
        sent = await self.bot.do_api_request(
            "sendMessage", {"chat_id": chat_id, "text": part.text, "reply_markup": self.markup(part)}
        )
        return sent["message_id"]

    def parse(self, data: dict[str, Any]) -> Update:
        return Update.de_json(data, self.bot)

    async def dispatch(self, update: Update, handle: Callable[[Update], Awaitable[Outcome | None]]) -> Outcome | None:
        return await handle(update)

    async def get_updates(self, *, offset: int | None, timeout: int, allowed_updates: list[str]) -> list[Update]:
        return list(await self.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=allowed_updates))

    def upload(self, path: str) -> Path:
        return Path(path)  # PTB reads it when it sends

    async def file(self, file_id: str) -> tuple[int | None, Download]:
        found = await self.bot.get_file(file_id)
        return found.file_size, found.download_to_drive
