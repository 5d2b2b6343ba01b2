"""The Telegram channel's BotApi through aiogram 3 (telegram.library: aiogram).

Updates are fed to an aiogram Dispatcher, so an office's aiogram habits
(outer middlewares, its logging) still apply, but its FSM, storage, polling
loop and webhook server are not used: the engine owns state, and polling and
the webhook are the channel's, the same for both libraries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher, methods, types
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import Response
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import FSInputFile, Update

from bot.channels.pacing import Verdict
from bot.channels.telegram_api import AlikeCalls, Download
from bot.config import TelegramSettings
from bot.dispatcher import Outcome

Handle = Callable[[Update], Awaitable[Outcome | None]]

# The Bot API methods the channel calls (bot/channels/telegram_api.py).
CALLED = (
    methods.GetMe,
    methods.GetUpdates,
    methods.GetFile,
    methods.SendMessage,
    methods.SendPhoto,
    methods.SendDocument,
    methods.AnswerCallbackQuery,
    methods.EditMessageReplyMarkup,
    methods.SetMyCommands,
    methods.SetWebhook,
    methods.DeleteWebhook,
)


def classify(error: BaseException) -> Verdict:
    """How the paced sender should treat a failed Bot API call."""
    if isinstance(error, TelegramRetryAfter):
        return Verdict("retry_after", float(error.retry_after))
    if isinstance(error, TelegramForbiddenError):  # blocked by the user, or removed from the group
        return Verdict("unreachable")
    # 5xx, timeouts, connection errors, and a proxy's HTML error page
    if isinstance(error, TelegramServerError | TelegramNetworkError | ClientDecodeError):
        return Verdict("transient")
    return Verdict("fatal")  # 400, 401, 404, 409, ...


async def _relay(_event: Any, event_update: Update, handle: Handle) -> Outcome | None:
    return await handle(event_update)


class AiogramApi(AlikeCalls):
    library = "aiogram"
    types = types
    error = AiogramError
    token_error = (TelegramUnauthorizedError, TelegramNotFound)
    classify = staticmethod(classify)

    def __init__(self, token: str, settings: TelegramSettings):
        server = TelegramAPIServer(
            base=f"{settings.base_url}{{token}}/{{method}}", file=f"{settings.base_file_url}{{token}}/{{path}}"
        )
        self.bot = Bot(token, session=AiohttpSession(api=server))
        # aiogram reads every answer as Response[the method's result], and
        # pydantic keeps such a parametrized model only weakly: after each full
        # garbage collection the next answer built the class again (several
        # ms, and garbage that brings the next collection nearer), a fifth of
        # the bot's CPU under load. Held here, each is built once.
        self.answers = tuple(Response[method.__returning__] for method in CALLED)
        self.dispatcher = Dispatcher(disable_fsm=True)
        self.dispatcher.message.register(_relay)
        self.dispatcher.callback_query.register(_relay)

    async def open(self) -> None:
        await self.bot.get_me()

    async def close(self) -> None:
        await self.bot.session.close()

    def parse(self, data: dict[str, Any]) -> Update:
        return Update.model_validate(data, context={"bot": self.bot})

    async def dispatch(self, update: Update, handle: Handle) -> Outcome | None:
        if update.message is None and update.callback_query is None:
            # Nothing Payung answers; and for a type it does not know, aiogram
            # would warn with the whole update, personal data and all.
            return None
        outcome = await self.dispatcher.feed_update(self.bot, update, handle=handle)
        return None if outcome is UNHANDLED else outcome

    async def get_updates(self, *, offset: int | None, timeout: int, allowed_updates: list[str]) -> list[Update]:
        # The HTTP request must outlive the long poll it waits on.
        return await self.bot.get_updates(
            offset=offset,
            timeout=timeout,
            allowed_updates=allowed_updates,
            request_timeout=int(self.bot.session.timeout) + timeout,
        )

    def upload(self, path: str) -> FSInputFile:
        return FSInputFile(path)

    async def file(self, file_id: str) -> tuple[int | None, Download]:
        found = await self.bot.get_file(file_id)

        async def download(target) -> None:
            await self.bot.download_file(found.file_path, target)

        return found.file_size, download
