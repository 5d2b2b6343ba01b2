"""APScheduler jobs in the bot process: plan reminders daily (and at start),
drain the outbox every few seconds, forget old message ids daily. Several processes may run these on one
PostgreSQL: planning is idempotent and draining leases rows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.reminders import Reminders, clock_time
from storage.db import Database
from storage.processed import prune_processed

log = logging.getLogger(__name__)


def reminder_scheduler(
    reminders: Reminders, clock: Callable[[], datetime], *, db: Database, keep_processed: timedelta
) -> AsyncIOScheduler:
    settings, zone = reminders.settings, reminders.calendar.zone
    scheduler = AsyncIOScheduler(timezone=zone)
    plan_at = clock_time(settings.plan_at)

    def plan() -> None:
        planned = reminders.plan(clock())
        log.info("reminders planned: %d new", sum(planned.values()))

    async def drain() -> None:
        done = await reminders.drain(clock())
        if done:
            log.info("reminders drained: %s", dict(done))

    def prune() -> None:
        with db.transaction() as session:
            pruned = prune_processed(session, before=clock() - keep_processed)
        log.info("forgot %d handled message ids", pruned)

    # coalesce + one instance: a slow run is never stacked with the next.
    scheduler.add_job(plan, CronTrigger(hour=plan_at.hour, minute=plan_at.minute, timezone=zone),
                      id="plan", coalesce=True, max_instances=1, next_run_time=datetime.now(zone))  # fmt: skip
    scheduler.add_job(prune, CronTrigger(hour=plan_at.hour, minute=plan_at.minute, timezone=zone),
                      id="prune", coalesce=True, max_instances=1)  # fmt: skip
    scheduler.add_job(drain, IntervalTrigger(seconds=settings.drain_seconds), id="drain", coalesce=True, max_instances=1)
    return scheduler
