"""The console channel: a chat with the bot in a terminal or a pipe.

On a terminal it prompts; otherwise it reads one message per line from
standard input and prints replies to standard output, so a whole conversation
can be piped through it (`printf 'halo\n1\n' | python -m bot chat`)."""

from __future__ import annotations

import asyncio
import uuid
from typing import TextIO

from starlette.routing import BaseRoute

from bot.channels.render import numbered
from bot.dispatcher import Dispatcher
from bot.outbound import Sending
from bot.types import Delivery, Finished, Readiness, Sendable
from handlers.messages import Capabilities, Inbound, Outbound

NAME = "console"
# The operator's own terminal: a typed phone number is taken as theirs, and
# choices are numbered lines to type.
CAPABILITIES = Capabilities(verified_phone="typed", buttons=False, max_text=1_000_000)


def render(message: Outbound) -> str:
    return f"{message.text}\n{numbered(message.choices)}" if message.choices else message.text


class ConsoleChannel:
    name = NAME
    capabilities = CAPABILITIES
    in_flight = 1  # printing has no round trip to overlap

    def __init__(self, dispatcher: Dispatcher, sending: Sending, *, chat_id: str, output: TextIO):
        self.dispatcher = dispatcher
        self.sending = sending
        self.chat_id = chat_id
        self.output = output

    def routes(self) -> list[BaseRoute]:
        return []

    def template(self, key: str, language: str) -> Readiness:
        return "missing"  # no reply window: never asked

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self, timeout: float = 0.0) -> None:
        """Nothing to wait for: the console prints as it goes."""

    def show(self, text: str) -> None:
        print(text, end="\n\n", file=self.output, flush=True)

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
        """A reply: printed at once."""
        self.show(render(message))
        if finished is not None:
            finished()

    async def deliver(self, chat_id: str, message: Outbound, how: Sendable, *, language: str) -> Delivery:
        """A message the bot starts (a reminder): printed under the chat it is for."""
        self.show(f"[{chat_id}]\n{render(message)}")
        return Delivery("sent")

    async def receive(self, text: str) -> None:
        inbound = Inbound(channel=NAME, chat_id=self.chat_id, message_id=uuid.uuid4().hex, text=text)
        await self.dispatcher.handle(inbound, self.sending.replier(self, inbound))

    async def run(self) -> None:
        """Nothing of its own: `converse` reads what is typed."""

    async def converse(self, source: TextIO) -> None:
        interactive = source.isatty()
        while True:
            if interactive:
                print("anda> ", end="", file=self.output, flush=True)
            line = await asyncio.to_thread(source.readline)
            if not line:
                await self.sending.flush()
                return
            if line.strip():
                await self.receive(line.rstrip("\n"))
