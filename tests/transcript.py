"""Transcript tests: a conversation written as it reads.

    > halo                          what the person sends
    Halo! Saya Payung               a line the bot's reply must contain
    [Cek kepesertaan | Bantuan ...] the exact buttons of the reply's last menu
    (tidak ada balasan)             the bot must say nothing

Expected lines must appear in the reply in the order written. A message is
sent through the real dispatcher with the console channel's name, against a
real database, exactly as the console channel sends it.
"""

from __future__ import annotations

import itertools

from bot.app import App
from bot.channels.console import NAME as CONSOLE
from bot.messages import Inbound, Outbound

NO_REPLY = "(tidak ada balasan)"


class Chat:
    def __init__(self, app: App, chat_id: str = "warga-1", channel: str = CONSOLE):
        self.app = app
        self.chat_id = chat_id
        self.channel = channel
        self._ids = itertools.count(1)

    async def send(self, text: str = "", *, choice: str | None = None, message_id: str | None = None) -> list[Outbound]:
        replies: list[Outbound] = []

        async def collect(message: Outbound) -> None:
            replies.append(message)

        inbound = Inbound(
            channel=self.channel,
            chat_id=self.chat_id,
            message_id=message_id or f"{self.chat_id}-{next(self._ids)}",
            text=text,
            choice=choice,
            received_at=self.app.clock(),
        )
        await self.app.dispatcher.handle(inbound, collect)
        return replies

    async def says(self, text: str) -> str:
        return reply_text(await self.send(text))

    async def run(self, script: str) -> None:
        for said, expected in parse(script):
            replies = await self.send(said)
            check(said, replies, expected)


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
            steps[-1][1].append(line)
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
