"""Draining the outbox: every kind of message the bot starts (reminders,
officers' digests, notices) goes out from here, through the outbound layer
and the channels.

Every few seconds the drainer leases due rows to this process, sends each
through its channel's paced path, and marks it sent, skipped (with why) or,
after repeated failures, failed. Delivery is at least once: a process that
dies after the platform accepted a message but before the mark leaves a
lease that runs out, and the row is sent again. In quiet hours only notices
go (a new report to the operators, a status change to its reporter): they
were written in the transaction that made them true, so none is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from bot.channels import Channel
from bot.config import ReminderSettings
from bot.group_commit import GroupCommit
from bot.outbound import Facts, Sending, untimely
from bot.reminder_plan import Calendar, template_key
from bot.transact import aside
from bot.types import Delivery
from handlers.messages import Outbound, TemplateRef
from handlers.renewal import RenewalFacts, reminder_line, renewal_digest
from handlers.texts import Catalogue
from handlers.wording import written_date, written_days
from storage import outbox, renewal
from storage.db import Database

log = logging.getLogger(__name__)
TEMPLATE_REVIEW_WAIT = timedelta(minutes=15)  # how often a message waiting for its template's approval looks again


@dataclass(frozen=True)
class Drainer:
    db: Database
    settings: ReminderSettings
    calendar: Calendar
    catalogue: Catalogue
    channels: Mapping[str, Channel]
    sending: Sending
    writes: GroupCommit  # marks, committed together
    renewal: RenewalFacts  # what reminders say comes after the cover
    worker: str  # whose leases these are: host:pid

    async def drain(self, now: datetime) -> Counter[str]:
        """Send every reminder, notice, answer and announcement due at `now`;
        returns how many rows ended in each state. Each channel drains on its
        own, batch after batch, so a slow platform never holds up a fast one.
        In quiet hours only notices and operators' answers go out."""
        anytime = (outbox.NOTICE, outbox.ANSWER)  # told at any hour; reminders wait out the night
        daytime = (outbox.REMINDER, outbox.DIGEST, outbox.ANNOUNCEMENT, outbox.RENEWAL, outbox.RENEWAL_DIGEST)
        kinds = anytime if self.calendar.quiet(now) else (*daytime, *anytime)
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
            claimed, facts = await aside(self.db, self._claim, channel, now, kinds)
            sending.update(asyncio.create_task(self._send(row, facts, now, unmarked)) for row in claimed)
            while sending and (not claimed or len(sending) > self.settings.batch // 2):
                finished, sending = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
                done.update(task.result() for task in finished)
            if not claimed:
                return done

    def _claim(self, channel: str, now: datetime, kinds: tuple[str, ...]) -> tuple[list[outbox.Claimed], Facts]:
        lease = timedelta(seconds=self.settings.lease_seconds)
        with self.db.transaction() as session:
            claimed = outbox.claim_due(
                session,
                now=now,
                worker=self.worker,
                lease=lease,
                limit=self.settings.batch,
                channels=[channel],
                kinds=kinds,
            )
            about_covers = [row for row in claimed if row.kind in outbox.ABOUT_A_COVER]
            followed = [row for row in claimed if row.kind in outbox.FOLLOWED]
            facts = Facts(
                people=outbox.niks_and_ends(session, participant_ids={row.participant_id for row in about_covers}),
                consenting=outbox.consenting(session, chat_pks={row.chat_pk for row in followed}),
                digests=outbox.digests(
                    session, rows=[(row.id, row.chat_pk, row.cover_end) for row in claimed if row.kind == outbox.DIGEST]
                ),
                renewal=self.renewal.decision(session),
                renewal_digests=renewal.renewal_digests(
                    session,
                    rows=[(row.id, row.chat_pk, row.cover_end) for row in claimed if row.kind == outbox.RENEWAL_DIGEST],
                ),
            )
        return claimed, facts

    async def _send(self, row: outbox.Claimed, facts: Facts, now: datetime, unmarked: asyncio.Semaphore) -> str:
        reason = untimely(row, facts, now)
        if reason is not None:
            return await self._mark(row, Delivery("skipped", detail=reason), now)
        async with unmarked:
            try:
                message = self._message(row, facts, now)
                channel = self.channels[row.channel]
                delivery = await self.sending.deliver(channel, row.chat_id, row.addressee, message, now=now)
            except Exception as error:  # a bug or an outage must not lose the row: retry it
                log.exception("outbox message %s could not be sent", row.id)
                delivery = Delivery("failed", detail=f"{type(error).__name__}: {error}")
            return await self._mark(row, delivery, now)

    def _message(self, row: outbox.Claimed, facts: Facts, now: datetime) -> Outbound:
        if row.kind in (outbox.NOTICE, outbox.ANNOUNCEMENT):
            # Outside WhatsApp's 24 hours, the approved template of its kind carries the text.
            template = TemplateRef(row.kind, (("text", row.body),))
            return Outbound(row.body, template=template, attachments=row.attachments)
        texts = self.catalogue[row.language]
        if row.kind == outbox.RENEWAL_DIGEST:
            text = renewal_digest(texts, facts.renewal_digests[row.id])
            return Outbound(text, template=TemplateRef("notice", (("text", text),)))
        if row.kind == outbox.ANSWER:
            # Outside WhatsApp's 24 hours the "answer" template only says an
            # officer answered; the whole answer waits for the person's next message.
            text = texts("helpdesk.answer", text=row.body)
            return Outbound(text, template=TemplateRef("answer", ()), attachments=row.attachments)
        today = now.astimezone(self.calendar.zone).date()
        end = written_date(texts, row.cover_end)
        left = (row.cover_end - today).days
        if left > 0:
            days = texts("reminders.days_left", days=written_days(texts, left))
        else:
            days = texts("reminders.ends_today")
        if row.kind == outbox.DIGEST:
            digest = facts.digests[row.id]
            text = texts(
                "reminders.digest",
                village=digest.village,
                ending=digest.ending,
                end=end,
                days=days,
                not_opted_in=digest.not_opted_in,
            )
            return Outbound(text, template=TemplateRef("notice", (("text", text),)))
        # Whoever follows this cover proved only a KTP's data: the masked NIK names it, nothing more.
        nik = facts.people[row.participant_id][0]
        if row.kind == outbox.RENEWAL:
            values = (("nik", nik), ("end_date", end))
            return Outbound(texts("renewal.renewed", nik=nik, end=end), template=TemplateRef("renewal", values))
        key = "after" if today > row.cover_end else "last_day" if today == row.cover_end else "before"
        after = reminder_line(texts, self.renewal, facts.renewal, stage=row.stage, cover_end=row.cover_end)
        values = (("nik", nik), ("end_date", end), ("days_left", days), ("renewal", after))
        return Outbound(
            texts(f"reminders.{key}", nik=nik, end=end, days=days, renewal=after),
            template=TemplateRef(template_key(row.stage), values),
        )

    async def _mark(self, row: outbox.Claimed, delivery: Delivery, now: datetime) -> str:
        state, retry_at, counted = delivery.state, None, True
        if state == "failed" and row.attempts < self.settings.max_attempts:
            state, retry_at = outbox.PLANNED, now + timedelta(minutes=2**row.attempts)
        if state == "waiting":  # its template is under review: the same row later, not a failure
            state, retry_at, counted = outbox.PLANNED, now + TEMPLATE_REVIEW_WAIT, False
        kept = await self.writes.write(
            partial(
                outbox.mark,
                outbox_id=row.id,
                worker=self.worker,
                state=state,
                now=now,
                platform_message_id=delivery.platform_message_id,
                detail=delivery.detail,
                retry_at=retry_at,
                counted=counted,
            )
        )
        if not kept:
            log.warning("reminder %s: lease lost before marking it %s", row.id, state)
        return "waiting" if not counted else "retry" if retry_at else state
