"""Reminder consent. Planning and sending reminders is the scheduler's work;
here a person can always withdraw consent with one word ("berhenti")."""

from __future__ import annotations

from handlers.flow import Flow, Turn, done
from storage.subscriptions import unsubscribe_all


async def stop(turn: Turn):
    unsubscribe_all(turn.db, chat=turn.chat)
    return done(turn.say("reminders.stopped"))


stop_flow = Flow.of("stop_reminders", stop)
