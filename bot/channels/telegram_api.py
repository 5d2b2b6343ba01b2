"""What a Telegram library must do for the channel (`BotApi`), and the part
of it both libraries spell alike (`AlikeCalls`). The adapters,
telegram_ptb.py and telegram_aiogram.py, build on this module; the channel
(telegram.py) uses them only through `BotApi`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from bot.channels.pacing import Verdict
from bot.dispatcher import Outcome
from handlers.messages import Media, Request


@dataclass(frozen=True)
class Part:
    """One sendMessage: a piece of text and, on the last piece, its keyboard,
    described without any library's classes."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, callback data), one a row
    request: Request | None = None  # a reply-keyboard button asking for a contact or location
    clear_reply_keyboard: bool = False


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
    async def send(self, chat_id: str, part: Part) -> int: ...  # the sent message's id
    async def send_file(self, chat_id: str, item: Media) -> int: ...  # a photo or document; its message's id
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
            return types.InlineKeyboardMarkup(
                inline_keyboard=[
                    [types.InlineKeyboardButton(text=label, callback_data=data)] for label, data in part.buttons
                ]
            )
        if part.request is not None:
            asks = {"request_contact": True} if part.request.kind == "contact" else {"request_location": True}
            return types.ReplyKeyboardMarkup(
                keyboard=[[types.KeyboardButton(text=part.request.label, **asks)]],
                resize_keyboard=True,
                one_time_keyboard=True,
            )
        return types.ReplyKeyboardRemove() if part.clear_reply_keyboard else None

    async def send(self, chat_id: str, part: Part) -> int:
        sent = await self.bot.send_message(chat_id=chat_id, text=part.text, reply_markup=self.markup(part))
        return sent.message_id

    def upload(self, path: str) -> Any:
        """A local file as the library takes it for sending."""
        raise NotImplementedError

    async def send_file(self, chat_id: str, item: Media) -> int:
        """A photo as a photo; anything else (a scan, a voice note) as a
        document, which Telegram takes in every format. With its caption."""
        caption = item.caption or None
        if item.mime_type.startswith("image/"):
            sent = await self.bot.send_photo(chat_id=chat_id, photo=self.upload(item.path), caption=caption)
        else:
            sent = await self.bot.send_document(chat_id=chat_id, document=self.upload(item.path), caption=caption)
        return sent.message_id

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
