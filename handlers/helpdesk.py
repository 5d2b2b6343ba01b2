"""Bicara dengan petugas: a person talks to an operator, who answers from
the console's Helpdesk page. The bot confirms once, with the office hours,
and then keeps quiet: everything the person sends goes to the thread until
an operator closes it or the person types menu or batal."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime

from handlers.events import HelpRequested
from handlers.flow import Flow, Turn, goto, listen
from handlers.messages import Outbound
from handlers.office_hours import OfficeHours
from handlers.texts import Texts
from storage import helpdesk


def hours(turn: Turn) -> str:
    return turn.services.settings.office.describe(turn.t.language)


def after_hours(t: Texts, office: OfficeHours, local: datetime) -> str | None:
    """What a person waiting while the office is closed is told: the hours,
    and when an answer comes at the earliest; None while it is open."""
    if office.is_open(local):
        return None
    opening = format_datetime(office.next_opening(local), t("helpdesk.opening_format"), locale=t.language)
    return t("helpdesk.after_hours", hours=office.describe(t.language), opening=opening)


async def start(turn: Turn):
    thread_id, new = helpdesk.open_thread(turn.db, chat_pk=turn.chat.id, now=turn.now)
    if new:
        turn.emit(HelpRequested(thread_id))
    said = [turn.say("helpdesk.opened", hours=hours(turn))]
    if closed := after_hours(turn.t, turn.services.settings.office, turn.now.astimezone(turn.services.zone)):
        said.append(Outbound(closed))
    return listen(got_message, *said)


async def got_message(turn: Turn):
    thread_id = helpdesk.open_thread_of(turn.db, chat_pk=turn.chat.id)
    if thread_id is None:  # an operator closed it: the person is back with the bot
        return goto("menu")
    location = turn.inbound.location
    helpdesk.add_message(
        turn.db,
        thread_id=thread_id,
        author=helpdesk.PERSON,
        text=turn.inbound.text,
        attachments=turn.inbound.media,
        latitude=location and location.latitude,
        longitude=location and location.longitude,
        now=turn.now,
    )
    return listen(got_message)


def answers_waiting(turn: Turn) -> list[Outbound]:
    """Officers' answers that reached the person only as a template
    (WhatsApp, past 24 hours): given whole now that the person writes,
    whatever they are doing (the engine asks on every message)."""
    return [
        Outbound(turn.t("helpdesk.answer", text=message.text), attachments=message.attachments)
        for message in helpdesk.held_answers(turn.db, chat=turn.chat)
    ]


flow = Flow.of("helpdesk", start, got_message, keywords="helpdesk", menu="menu.helpdesk", patient=True)
