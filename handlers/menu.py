"""The main menu: where every conversation starts and returns."""

from __future__ import annotations

from bot.messages import Choice, Outbound
from handlers.flow import Ask, Flow, Turn, ask, goto
from storage.officers import linked_officer

# (choice id = flow name, title key)
ENTRIES = (
    ("coverage", "menu.coverage"),
    ("incident", "menu.incident"),
    ("status", "menu.status"),
    ("reminders", "menu.reminders"),
    ("help", "menu.help"),
    ("language", "menu.language"),
)


# What a chat linked to a village officer sees besides.
OFFICER_ENTRIES = (
    ("officer_report", "menu.officer_report"),
    ("officer_claim", "menu.officer_claim"),
    ("officer_summary", "menu.officer_summary"),
)


def entries(turn: Turn) -> tuple[tuple[str, str], ...]:
    return ENTRIES + OFFICER_ENTRIES if linked_officer(turn.db, chat=turn.chat) else ENTRIES


def home(turn: Turn, header: str) -> Ask:
    choices = tuple(Choice(id=flow, title=turn.t(title)) for flow, title in entries(turn))
    return ask(chose, Outbound(header, choices=choices))


async def start(turn: Turn):
    return home(turn, f"{turn.t('menu.greeting')}\n{turn.t('menu.question')}")


async def chose(turn: Turn):
    for flow, _title in entries(turn):
        if turn.choice == flow:
            return goto(flow)
    return home(turn, turn.t("menu.not_understood"))


flow = Flow.of("menu", start, chose)
