"""Transcript tests: a conversation written as it reads.

    > halo                          what the person sends
    Halo! Saya Payung               a line the bot's reply must contain
    [Cek kepesertaan | Bantuan ...] the exact buttons of the reply's last menu
    [A | B |                        (a long list of buttons may go on over
     C | D]                          several lines until its closing bracket)
    (tidak ada balasan)             the bot must say nothing

Expected lines must appear in the reply in the order written. A message is
sent through the real dispatcher with the console channel's name, against a
real database, exactly as the console channel sends it. Every reply is also
rendered for Telegram and for WhatsApp and checked against their limits, so a
flow that only works on one channel fails here.
"""

from __future__ import annotations

import itertools

from bot.app import App
from bot.channels import telegram, whatsapp
from bot.channels.console import NAME as CONSOLE
from bot.channels.render import utf16_length
from handlers.messages import Inbound, Outbound

NO_REPLY = "(tidak ada balasan)"


class Chat:
    def __init__(self, app: App, chat_id: str = "warga-1", channel: str = CONSOLE, sender_phone: str | None = None):
        self.app = app
        self.chat_id = chat_id
        self.channel = channel
        self.sender_phone = sender_phone  # WhatsApp: the platform's verified number, on every message
        self._ids = itertools.count(1)

    async def send(
        self, text: str = "", *, choice: str | None = None, message_id: str | None = None, **shared
    ) -> list[Outbound]:
        """One message; `shared` is what else a channel can carry (media,
        location, contact_phone, sender_phone)."""
        replies: list[Outbound] = []
        if self.sender_phone:
            shared.setdefault("sender_phone", self.sender_phone)

        async def collect(message: Outbound, _held: int | None, _who: object) -> None:
            assert_fits_every_channel(message)
            replies.append(message)

        inbound = Inbound(
            channel=self.channel,
            chat_id=self.chat_id,
            message_id=message_id or f"{self.chat_id}-{next(self._ids)}",
            text=text,
            choice=choice,
            received_at=self.app.clock(),
            **shared,
        )
        await self.app.dispatcher.handle(inbound, collect)
        return replies

    async def says(self, text: str) -> str:
        return reply_text(await self.send(text))

    async def run(self, script: str) -> None:
        for said, expected in parse(script):
            replies = await self.send(said)
            check(said, replies, expected)


def assert_fits_every_channel(message: Outbound) -> None:
    """What Telegram and WhatsApp would refuse, or silently cut, fails the test."""
    for part in telegram.render(message):
        assert 0 < utf16_length(part.text) <= telegram.MAX_TEXT, part.text
        for _title, data in part.buttons:
            assert len(data.encode()) <= 64, data
    for part in whatsapp.render(message, list_button="Lihat pilihan"):
        limit = whatsapp.MAX_TEXT if part.kind == "text" else whatsapp.MAX_BODY
        assert 0 < len(part.text) <= limit, part.text
        title_limit = whatsapp.BUTTON_TITLE if part.kind == "buttons" else whatsapp.ROW_TITLE
        assert len(part.rows) <= (whatsapp.MAX_BUTTONS if part.kind == "buttons" else whatsapp.MAX_ROWS)
        assert all(
            len(row.title) <= title_limit and len(row.description) <= whatsapp.ROW_DESCRIPTION for row in part.rows
        )
        # Every title a person must tell apart is shown whole, as title or description.
        for choice, row in zip(message.choices, part.rows, strict=False):
            if len(choice.title) <= whatsapp.ROW_DESCRIPTION:
                assert choice.title in (row.title, row.description), (choice.title, row)


def reply_text(replies: list[Outbound]) -> str:
    return "\n".join(reply.text for reply in replies)


def parse(script: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in script.strip().splitlines():
        line = line.strip()
        if line.startswith(">"):
            steps.append((line[1:].strip(), []))
        elif line:
            if not steps:
                raise ValueError(f"expectation before any message: {line}")
            expected = steps[-1][1]
            if expected and expected[-1].startswith("[") and not expected[-1].endswith("]"):
                expected[-1] += " " + line  # a button list going on
            else:
                expected.append(line)
    return steps


def check(said: str, replies: list[Outbound], expected: list[str]) -> None:
    text = reply_text(replies)
    where = f"after '> {said}', the bot said:\n{text}\n{buttons(replies)}"
    if expected == [NO_REPLY]:
        assert not replies, where
        return
    assert replies, f"after '> {said}' the bot said nothing"
    position = 0
    for line in expected:
        if line.startswith("["):
            assert line == buttons(replies), f"buttons differ {where}"
            continue
        found = text.find(line, position)
        assert found >= 0, f"missing (in order) '{line}' {where}"
        position = found + len(line)


def buttons(replies: list[Outbound]) -> str:
    last = next((reply.choices for reply in reversed(replies) if reply.choices), ())
    return "[" + " | ".join(choice.title for choice in last) + "]" if last else "[]"
