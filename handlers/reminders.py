"""Pengingat: whose cover this chat is reminded about, when the next reminder
comes, and a way to stop (or start again). "berhenti" and "mulai" work
anywhere. Planning and sending are the scheduler's work (bot/reminders.py)."""

from __future__ import annotations

from handlers.events import Subscribed
from handlers.flow import Flow, Turn, ask, ask_again, done
from handlers.renewal import state_line
from handlers.wording import long_date
from storage.outbox import next_due
from storage.subscriptions import followed, set_consent


async def start(turn: Turn):
    if not followed(turn.db, chat=turn.chat):
        return done(turn.say("reminders.none"))
    return ask(chose_action, reminders_question(turn))


def reminders_question(turn: Turn):
    """Whose cover this chat follows, when the next reminder comes, and a switch."""
    following = followed(turn.db, chat=turn.chat)
    names = ", ".join(f"NIK {item.nik_masked}" for item in following)
    if not any(item.active for item in following):
        return turn.question("reminders.off", [("on", "reminders.turn_on"), ("back", "common.back")], names=names)
    due = next_due(turn.db, chat_pks=[turn.chat.id])
    upcoming = (
        turn.t("reminders.next", day=long_date(turn, due.astimezone(turn.services.zone).date()))
        if due
        else turn.t("reminders.next_unknown")
    )
    choices = [("off", "reminders.turn_off"), ("back", "common.back")]
    renewal = state_line(turn.t, turn.services.settings.renewal.decision(turn.db))
    return turn.question("reminders.on", choices, names=names, upcoming=upcoming, renewal=renewal)


async def chose_action(turn: Turn):
    if turn.choice == "off":
        return await stop(turn)
    if turn.choice == "on":
        return await resume(turn)
    if turn.choice == "back":
        return done()
    return ask_again(chose_action, turn, "common.pick_one", reminders_question(turn))


async def stop(turn: Turn):
    set_consent(turn.db, chat=turn.chat, active=False)
    return done(turn.say("reminders.stopped"))


async def resume(turn: Turn):
    if not followed(turn.db, chat=turn.chat):
        return done(turn.say("reminders.none"))
    set_consent(turn.db, chat=turn.chat, active=True)
    turn.emit(Subscribed(turn.chat.id))
    return done(turn.say("reminders.resumed"))


flow = Flow.of("reminders", start, chose_action, menu="menu.reminders", formerly={"chose": chose_action})
stop_flow = Flow.of("stop_reminders", stop, keywords="stop")
resume_flow = Flow.of("resume_reminders", resume, keywords="resume")
