"""Planning reminders before a cover ends: one outbox row per (chat,
participant, cover end, stage) under a unique key, so planning twice plans
nothing new, and a roster that moves someone's cover end plans fresh rows
while the old ones are skipped when their turn comes (bot/drainer.py).
Village officers' chats get one digest per stage the same way."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.config import ReminderSettings
from handlers.events import Event, Subscribed
from storage import outbox
from storage.db import Database

PLAN_CHUNK = 2000  # subscribers per INSERT: one statement per few thousand rows
# Planning a million people is CPU work in PostgreSQL's backends, one core
# each: two connections halve it and leave the rest to the bot. SQLite has
# one writer, so one.
PLAN_CONNECTIONS = {"postgresql": 2, "sqlite": 1}


def template_key(stage: int) -> str:
    """The whatsapp.templates key for a stage: reminder_30 ... reminder_after_1."""
    return f"reminder_{stage}" if stage >= 0 else f"reminder_after_{-stage}"


def clock_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Calendar:
    """When each stage of a cover period is due, and until when it is worth
    sending, in the regency's time zone."""

    stages: tuple[int, ...]  # days before the end, latest first: 30, 14, 7, 1, -1
    send_at: time
    quiet_from: time
    quiet_until: time
    zone: ZoneInfo

    @classmethod
    def of(cls, settings: ReminderSettings, zone: ZoneInfo) -> Calendar:
        return cls(
            tuple(sorted(set(settings.stages), reverse=True)),
            clock_time(settings.send_at),
            clock_time(settings.quiet_from),
            clock_time(settings.quiet_until),
            zone,
        )

    def at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, self.zone)

    def schedule(self, cover_end: date) -> list[tuple[int, datetime, datetime]]:
        """(stage, due, stale) for each stage. A stage goes stale when the next
        one is due; a reminder before the end, also when the cover has ended;
        the last stage, at the end of its day's sending window."""
        dues = [self.at(cover_end - timedelta(days=stage), self.send_at) for stage in self.stages]
        after_end = self.at(cover_end + timedelta(days=1), time(0))
        schedule = []
        for index, (stage, due) in enumerate(zip(self.stages, dues, strict=True)):
            if index + 1 < len(dues):
                stale = dues[index + 1]
            else:
                stale = self.at(due.date(), self.quiet_from)
            if stage > 0:
                stale = min(stale, after_end)
            schedule.append((stage, due, stale))
        return schedule

    def quiet(self, now: datetime) -> bool:
        moment = now.astimezone(self.zone).time()
        if self.quiet_from > self.quiet_until:  # over midnight, e.g. 20:00-07:00
            return moment >= self.quiet_from or moment < self.quiet_until
        return self.quiet_from <= moment < self.quiet_until


def plan_key(subscriber: outbox.Subscriber, stage: int) -> str:
    """One row per kind, chat, participant, cover end and stage: planned once."""
    return f"{subscriber.kind}:{subscriber.chat_pk}:{subscriber.participant_id}:{subscriber.cover_end}:{stage}"


@dataclass(frozen=True)
class Stage:
    """One stage of one cover end on one channel: one INSERT ... SELECT."""

    channel: str
    cover_end: date
    stage: int
    due: datetime
    stale: datetime


class ReminderPlanner:
    def __init__(self, *, db: Database, calendar: Calendar):
        self.db = db
        self.calendar = calendar

    def plan(self, now: datetime, *, dry_run: bool = False) -> Counter[tuple[int, str]]:
        """Plan every stage not yet stale for every consenting chat, and a
        digest per stage for every village officer's chat; returns the new
        rows per (stage, channel). Each stage is its own transaction, several
        at once where the database can: a run cut short leaves whole stages,
        and the next run plans the rest. A dry run rolls each back, so it
        shows exactly what a real run would add."""
        with self.db.transaction() as session:
            stages = self.stages(session, now)

        def plan_stage(stage: Stage) -> Counter[tuple[int, str]]:
            with self.db.transaction() as session:
                planned = self.plan_stage(session, stage, now)
                if dry_run:
                    session.rollback()
            return planned

        planned: Counter[tuple[int, str]] = Counter()
        connections = PLAN_CONNECTIONS.get(self.db.engine.dialect.name, 1)
        with ThreadPoolExecutor(connections) as pool:
            # One at a time in this thread: an in-memory SQLite database is one per thread.
            for counts in (pool.map if connections > 1 else map)(plan_stage, stages):
                planned += counts
        with self.db.transaction() as session:
            planned += self.plan_digests(session, now)
            if dry_run:
                session.rollback()
        return planned

    def react(self, session: Session, event: Event, now: datetime) -> None:
        """Plan a chat's reminders the moment it consents, in the consent's
        transaction: the Pengingat menu can then say when the next one comes."""
        if isinstance(event, Subscribed):
            for stage in self.stages(session, now, chat_pk=event.chat_pk):
                self.plan_stage(session, stage, now, chat_pk=event.chat_pk)

    def stages(self, session: Session, now: datetime, *, chat_pk: int | None = None) -> list[Stage]:
        """The stages not yet stale of every cover end consenting chats (or one chat) follow."""
        return [
            Stage(channel, cover_end, *schedule)
            for channel, cover_end in outbox.followed_cover_ends(session, chat_pk=chat_pk)
            for schedule in self.calendar.schedule(cover_end)
            if schedule[2] > now
        ]

    @staticmethod
    def plan_stage(
        session: Session, stage: Stage, now: datetime, *, chat_pk: int | None = None
    ) -> Counter[tuple[int, str]]:
        new = outbox.plan_reminders(
            session,
            channel=stage.channel,
            cover_end=stage.cover_end,
            stage=stage.stage,
            due_at=stage.due,
            stale_at=stage.stale,
            now=now,
            chat_pk=chat_pk,
        )
        return Counter({(stage.stage, stage.channel): new} if new else {})

    def plan_digests(self, session: Session, now: datetime) -> Counter[tuple[int, str]]:
        """Every stage not yet stale of every village officer's digest: a few
        hundred rows at most, built here."""
        subscribers = outbox.digest_subscribers(session)
        planned: Counter[tuple[int, str]] = Counter()
        channel_of = {subscriber.chat_pk: subscriber.channel for subscriber in subscribers}
        for start in range(0, len(subscribers), PLAN_CHUNK):
            rows = [
                {
                    "key": plan_key(subscriber, stage),
                    "kind": subscriber.kind,
                    "chat_pk": subscriber.chat_pk,
                    "participant_id": subscriber.participant_id,
                    "cover_end": subscriber.cover_end,
                    "stage": stage,
                    "due_at": due,
                    "stale_at": stale,
                    "state": outbox.PLANNED,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for subscriber in subscribers[start : start + PLAN_CHUNK]
                for stage, due, stale in self.calendar.schedule(subscriber.cover_end)
                if stale > now
            ]
            for stage, chat_pk in outbox.plan(session, rows):
                planned[(stage, channel_of[chat_pk])] += 1
        return planned
