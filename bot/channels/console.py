"""The console channel: a chat with the bot in a terminal or a pipe.

On a terminal it prompts; otherwise it reads one message per line from
standard input and prints replies to standard output, so a whole conversation
can be piped through it (`printf 'halo\n1\n' | python -m bot chat`)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import TextIO

from bot.channels.pacing import Delivery
from bot.channels.render import numbered
from bot.dispatcher import Dispatcher
from bot.messages import Inbound, Outbound

NAME = "console"


def render(message: Outbound) -> str:
    return f"{message.text}\n{numbered(message.choices)}" if message.choices else message.text


class ConsoleChannel:
    in_flight = 1  # printing has no round trip to overlap

    def __init__(self, dispatcher: Dispatcher, *, chat_id: str, output: TextIO):
        self.dispatcher = dispatcher
        self.chat_id = chat_id
        self.output = output

    async def send(self, message: Outbound) -> None:
        print(render(message), end="\n\n", file=self.output, flush=True)

    async def deliver(self, chat_id: str, message: Outbound, *, now: datetime) -> Delivery:
        """A message the bot starts (a reminder): printed under the chat it is for."""
        print(f"[{chat_id}]\n{render(message)}", end="\n\n", file=self.output, flush=True)
        return Delivery("sent")

    async def stop(self, timeout: float = 0.0) -> None:
        """Nothing to wait for: the console prints as it goes."""

    async def receive(self, text: str) -> None:
        inbound = Inbound(channel=NAME, chat_id=self.chat_id, message_id=uuid.uuid4().hex, text=text)
        await self.dispatcher.handle(inbound, self.send)

    async def run(self, source: TextIO) -> None:
        interactive = source.isatty()
        while True:
            if interactive:
                print("anda> ", end="", file=self.output, flush=True)
            line = await asyncio.to_thread(source.readline)
            if not line:
                return
            if line.strip():
                await self.receive(line.rstrip("\n"))
