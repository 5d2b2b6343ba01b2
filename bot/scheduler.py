"""APScheduler jobs in the bot process: plan reminders daily (and at start),
drain the outbox every few seconds, forget old message ids daily, tell
those waiting on the Helpdesk after hours when to expect an answer. Several
processes may run these on one PostgreSQL: planning is idempotent and
draining leases rows."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.drainer import Drainer
from bot.reminder_plan import ReminderPlanner, clock_time
from bot.types import Clock
from storage.chats import prune_sessions
from storage.db import Database
from storage.processed import prune_processed

log = logging.getLogger(__name__)


RESEND_EVERY_SECONDS = 10


def reminder_scheduler(
    planner: ReminderPlanner,
    drainer: Drainer,
    clock: Clock,
    *,
    db: Database,
    keep_processed: timedelta,
    resend: Callable[[], Awaitable[int]],
    tell_waiting: Callable[[], int],
) -> AsyncIOScheduler:
    settings, zone = drainer.settings, drainer.calendar.zone
    scheduler = AsyncIOScheduler(timezone=zone)
    plan_at = clock_time(settings.plan_at)

    def plan() -> None:
        planned = planner.plan(clock())
        log.info("reminders planned: %d new", sum(planned.values()))

    async def drain() -> None:
        done = await drainer.drain(clock())
        if done:
            log.info("outbox drained: %s", dict(done))

    def prune() -> None:
        with db.transaction() as session:
            before = clock() - keep_processed
            ids, conversations = prune_processed(session, before=before), prune_sessions(session, before=before)
        log.info("forgot %d handled message ids and %d ended conversations", ids, conversations)

    # coalesce + one instance: a slow run is never stacked with the next.
    daily = CronTrigger(hour=plan_at.hour, minute=plan_at.minute, timezone=zone)
    scheduler.add_job(plan, daily, id="plan", coalesce=True, max_instances=1, next_run_time=datetime.now(zone))
    scheduler.add_job(prune, daily, id="prune", coalesce=True, max_instances=1)
    every = IntervalTrigger(seconds=settings.drain_seconds)
    scheduler.add_job(drain, every, id="drain", coalesce=True, max_instances=1)
    # Replies a stopped process held but had not sent (bot/outbound.py).
    again = IntervalTrigger(seconds=RESEND_EVERY_SECONDS)
    scheduler.add_job(resend, again, id="resend", coalesce=True, max_instances=1, next_run_time=datetime.now(zone))
    # People waiting on the Helpdesk when the office closes hear when to expect an answer.
    scheduler.add_job(tell_waiting, IntervalTrigger(minutes=5), id="helpdesk", coalesce=True, max_instances=1)
    return scheduler
