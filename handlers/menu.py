"""The main menu: where every conversation starts and returns."""

from __future__ import annotations

from bot.messages import Choice, Outbound
from handlers.flow import Ask, Flow, Turn, ask, done, goto

# (choice id = flow name, title key, built yet). Items not built yet stay
# visible and say so honestly, rather than pretending to work.
ENTRIES = (
    ("coverage", "menu.coverage", True),
    ("incident", "menu.incident", False),
    ("status", "menu.status", False),
    ("reminders", "menu.reminders", True),
    ("help", "menu.help", True),
    ("language", "menu.language", True),
)


def home(turn: Turn, header: str) -> Ask:
    choices = tuple(Choice(id=flow, title=turn.t(title)) for flow, title, _ in ENTRIES)
    return ask(chose, Outbound(header, choices=choices))


async def start(turn: Turn):
    return home(turn, f"{turn.t('menu.greeting')}\n{turn.t('menu.question')}")


async def chose(turn: Turn):
    for flow, title, built in ENTRIES:
        if turn.choice == flow:
            return goto(flow) if built else done(turn.say("menu.not_ready", feature=turn.t(title)))
    return home(turn, turn.t("menu.not_understood"))


flow = Flow.of("menu", start, chose)
