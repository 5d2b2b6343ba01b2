"""The main menu: where every conversation starts and returns.

Its entries are the flows that declare a menu title, in the order they are
registered (handlers/flows.py); a chat linked to a village officer also
sees the officers' entries.
"""

from __future__ import annotations

from collections.abc import Sequence

from handlers.flow import Ask, Flow, Turn, ask, goto
from handlers.messages import Choice, Outbound
from storage.officers import linked_officer

MISSES_BEFORE_PERSON = 3  # not understood this often in a row: offer a person instead


def menu_flow(entries: Sequence[Flow]) -> Flow:
    """The menu over `entries` (flows with a menu title)."""

    def offered(turn: Turn) -> list[Flow]:
        officer = any(entry.officers_only for entry in entries) and linked_officer(turn.db, chat=turn.chat)
        return [entry for entry in entries if officer or not entry.officers_only]

    def home(turn: Turn, header: str) -> Ask:
        choices = tuple(Choice(id=entry.name, title=turn.t(entry.menu)) for entry in offered(turn))
        return ask(chose_entry, Outbound(header, choices=choices))

    async def start(turn: Turn):
        """A new chat, a greeting, or a first message that already names an entry."""
        if any(turn.choice == entry.name for entry in offered(turn)):
            return goto(turn.choice)
        return home(turn, f"{turn.t('menu.greeting')}\n{turn.t('menu.question')}")

    async def chose_entry(turn: Turn):
        entries = offered(turn)
        if any(turn.choice == entry.name for entry in entries):
            return goto(turn.choice)
        misses = turn.data.get("misses", 0) + 1
        if misses >= MISSES_BEFORE_PERSON and any(entry.name == "helpdesk" for entry in entries):
            turn.data["misses"] = 0
            return home(turn, turn.t("menu.offer_person"))  # rather than the same words a third time
        turn.data["misses"] = misses
        return home(turn, turn.t("menu.not_understood"))

    return Flow.of("menu", start, chose_entry, home=home, formerly={"chose": chose_entry})
