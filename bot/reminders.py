"""Reminders before the cover ends: plan them into the outbox, drain the
outbox through the channels.

Plan (daily, and at start) inserts one row per (chat, participant, cover end,
stage) under a unique key, so planning twice plans nothing new, and a roster
that moves someone's cover end plans fresh rows while the old ones are skipped
when their turn comes. Drain (every few seconds, outside quiet hours) leases
due rows to this process, sends each through its channel's paced path, and
marks it sent, skipped (with why) or, after repeated failures, failed.
Delivery is at least once: a process that dies after the platform accepted a
message but before the mark leaves a lease that runs out, and the row is
sent again.

The same drain sends notices (a new report to the operators, a status
change to its reporter): written into the outbox in the transaction that
made them true, so none is lost, and sent at any hour.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.units import format_unit

from bot.channels.pacing import Delivery
from bot.config import ReminderSettings
from bot.messages import Media, Outbound, TemplateRef
from handlers.texts import Catalogue
from storage import outbox
from storage.db import Database
from storage.privacy import mask_name

log = logging.getLogger(__name__)

PLAN_CHUNK = 2000  # subscribers per INSERT: one statement per few thousand rows


@dataclass(frozen=True)
class Facts:
    """What the drainer reads once per claimed batch to judge and word its rows."""

    people: dict[int, tuple[str, date]]  # participant -> (name, cover end now)
    consenting: set[tuple[int, int]]  # (chat, participant) with consent on
    digests: dict[int, outbox.Digest]  # outbox id -> the officer's digest as it stands


class Deliverer(Protocol):
    in_flight: int  # platform calls awaiting an answer at once

    async def deliver(self, chat_id: str, message: Outbound, *, now: datetime) -> Delivery: ...


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
        return cls(tuple(sorted(set(settings.stages), reverse=True)), clock_time(settings.send_at),
                   clock_time(settings.quiet_from), clock_time(settings.quiet_until), zone)  # fmt: skip

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


class Reminders:
    def __init__(
        self,
        *,
        db: Database,
        settings: ReminderSettings,
        zone: ZoneInfo,
        catalogue: Catalogue,
        channels: dict[str, Deliverer],
        worker: str,
    ):
        self.db = db
        self.settings = settings
        self.calendar = Calendar.of(settings, zone)
        self.catalogue = catalogue
        self.channels = channels
        self.worker = worker

    def plan(self, now: datetime, *, dry_run: bool = False) -> Counter[tuple[int, str]]:
        """Plan every stage not yet stale for every consenting chat, and a
        digest per stage for every village officer's chat; returns the new
        rows per (stage, channel). A dry run plans in a transaction it
        rolls back, so it shows exactly what a real run would add."""
        with self.db.transaction() as session:
            planned: Counter[tuple[int, str]] = Counter()
            subscribers = outbox.subscribers(session) + outbox.digest_subscribers(session)
            channel_of = {subscriber.chat_pk: subscriber.channel for subscriber in subscribers}
            for start in range(0, len(subscribers), PLAN_CHUNK):
                rows = [
                    {"key": f"{subscriber.kind}:{subscriber.chat_pk}:{subscriber.participant_id}:{subscriber.cover_end}:{stage}",
                     "kind": subscriber.kind, "chat_pk": subscriber.chat_pk, "participant_id": subscriber.participant_id,
                     "cover_end": subscriber.cover_end, "stage": stage, "due_at": due, "stale_at": stale,
                     "state": outbox.PLANNED, "attempts": 0, "created_at": now, "updated_at": now}
                    for subscriber in subscribers[start : start + PLAN_CHUNK]
                    for stage, due, stale in self.calendar.schedule(subscriber.cover_end)
                    if stale > now
                ]  # fmt: skip
                for stage, chat_pk in outbox.plan(session, rows):
                    planned[(stage, channel_of[chat_pk])] += 1
            if dry_run:
                session.rollback()
        return planned

    async def drain(self, now: datetime) -> Counter[str]:
        """Send every reminder and notice due at `now`; returns how many rows
        ended in each state. Each channel drains on its own, batch after
        batch, so a slow platform never holds up a fast one. In quiet hours
        only notices go out."""
        kinds = (outbox.NOTICE,) if self.calendar.quiet(now) else (outbox.REMINDER, outbox.DIGEST, outbox.NOTICE)
        done = await asyncio.gather(*(self._drain(channel, now, kinds) for channel in self.channels))
        return sum(done, Counter())

    async def _drain(self, channel: str, now: datetime, kinds: tuple[str, ...]) -> Counter[str]:
        """Claim a batch, and the next one while the last half of it is still
        going out, so the channel's pace never waits for a claim."""
        # Sent but not yet marked is the state a crash turns into a duplicate:
        # at most the channel's in_flight reminders are in it at any moment.
        unmarked = asyncio.Semaphore(self.channels[channel].in_flight)
        sending: set[asyncio.Task[str]] = set()
        done: Counter[str] = Counter()
        while True:
            claimed, facts = await asyncio.to_thread(self._claim, channel, now, kinds)
            sending.update(asyncio.create_task(self._send(row, facts, now, unmarked)) for row in claimed)
            while sending and (not claimed or len(sending) > self.settings.batch // 2):
                finished, sending = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                done.update(task.result() for task in finished)
            if not claimed:
                return done

    def _claim(self, channel: str, now: datetime, kinds: tuple[str, ...]) -> tuple[list[outbox.Claimed], Facts]:
        lease = timedelta(seconds=self.settings.lease_seconds)
        with self.db.transaction() as session:
            claimed = outbox.claim_due(session, now=now, worker=self.worker, lease=lease,
                                       limit=self.settings.batch, channels=[channel], kinds=kinds)  # fmt: skip
            reminders = [row for row in claimed if row.kind == outbox.REMINDER]
            facts = Facts(
                people=outbox.names_and_ends(session, participant_ids={row.participant_id for row in reminders}),
                consenting=outbox.consenting(session, chat_pks={row.chat_pk for row in reminders}),
                digests=outbox.digests(session, rows=[(row.id, row.chat_pk, row.cover_end) for row in claimed
                                                      if row.kind == outbox.DIGEST]),
            )  # fmt: skip
        return claimed, facts

    async def _send(self, row: outbox.Claimed, facts: Facts, now: datetime, unmarked: asyncio.Semaphore) -> str:
        reason = self._untimely(row, facts, now)
        if reason is not None:
            return await asyncio.to_thread(self._mark, row, Delivery("skipped", detail=reason), now)
        async with unmarked:
            try:
                delivery = await self.channels[row.channel].deliver(row.chat_id, self._message(row, facts, now), now=now)
            except Exception as error:  # a bug or an outage must not lose the row: retry it
                log.exception("outbox message %s could not be sent", row.id)
                delivery = Delivery("failed", detail=f"{type(error).__name__}: {error}")
            return await asyncio.to_thread(self._mark, row, delivery, now)

    @staticmethod
    def _untimely(row: outbox.Claimed, facts: Facts, now: datetime) -> str | None:
        """Why a claimed row must not go out now, if it must not."""
        if not row.chat_active:
            return "the chat cannot be reached"
        if row.kind == outbox.NOTICE:
            return None  # nothing else makes a notice untimely
        if row.kind == outbox.DIGEST and row.id not in facts.digests:
            return "no longer a village officer's chat"
        if row.kind == outbox.REMINDER:
            if (row.chat_pk, row.participant_id) not in facts.consenting:
                return "consent withdrawn"
            if facts.people.get(row.participant_id, ("", None))[1] != row.cover_end:
                return "the roster changed this cover's end"
        if row.stale_at <= now:
            return "stale: a later stage took over"
        return None

    def _message(self, row: outbox.Claimed, facts: Facts, now: datetime) -> Outbound:
        if row.kind == outbox.NOTICE:
            # Outside WhatsApp's 24 hours, the approved "notice" template carries the text.
            files = tuple(Media(**item) for item in row.attachments or ())
            return Outbound(row.body, template=TemplateRef("notice", (("text", row.body),)), attachments=files)
        texts = self.catalogue[row.language]
        today = now.astimezone(self.calendar.zone).date()
        end = format_date(row.cover_end, "d MMMM y", locale=texts.language)
        days = format_unit(max((row.cover_end - today).days, 0), "duration-day", locale=texts.language)
        if row.kind == outbox.DIGEST:
            digest = facts.digests[row.id]
            text = texts("reminders.digest", village=digest.village, ending=digest.ending, end=end, days=days,
                         not_opted_in=digest.not_opted_in)  # fmt: skip
            return Outbound(text, template=TemplateRef("notice", (("text", text),)))
        masked = mask_name(facts.people[row.participant_id][0])
        key = "after" if today > row.cover_end else "last_day" if today == row.cover_end else "before"
        values = (("name", masked), ("end_date", end), ("days_left", days))
        return Outbound(texts(f"reminders.{key}", name=masked, end=end, days=days),
                        template=TemplateRef(template_key(row.stage), values))  # fmt: skip

    def _mark(self, row: outbox.Claimed, delivery: Delivery, now: datetime) -> str:
        state, retry_at = delivery.state, None
        if state == "failed" and row.attempts < self.settings.max_attempts:
            state, retry_at = outbox.PLANNED, now + timedelta(minutes=2**row.attempts)
        with self.db.transaction() as session:
            kept = outbox.mark(session, outbox_id=row.id, worker=self.worker, state=state, now=now,
                               platform_message_id=delivery.platform_message_id, detail=delivery.detail,
                               retry_at=retry_at)  # fmt: skip
        if not kept:
            log.warning("reminder %s: lease lost before marking it %s", row.id, state)
        return "retry" if retry_at else state
