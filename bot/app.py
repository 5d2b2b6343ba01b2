"""Build everything from the settings. Nothing lives at module level: tests
and several bots in one process each get their own App."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.channels import ALWAYS, Channel, ChannelCapabilities, reminders_reach
from bot.check_alarm import CheckAlarm
from bot.config import Settings
from bot.group_commit import GroupCommit
from bot.keys import load_nik_key
from bot.media import MediaStore
from bot.metrics import Metrics
from bot.notices import Notices
from bot.ops.helpdesk import tell_waiting_after_hours
from bot.outbound import Sending
from bot.reminder_plan import Calendar, ReminderPlanner
from bot.types import Clock
from handlers.events import Event
from handlers.flow import FlowSettings, Services
from handlers.office_hours import OfficeHours
from handlers.renewal import RenewalFacts
from handlers.texts import Catalogue
from storage.db import Database
from storage.participants import with_lookup_indexes
from storage.privacy import IdentityHasher
from storage.renewal import Decision

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher, React
    from bot.drainer import Drainer


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    db: Database
    services: Services
    notices: Notices
    sending: Sending
    clock: Clock
    metrics: Metrics
    writes: GroupCommit  # the bookkeeping of sends, committed together
    react: React  # what the application does besides replying, for each step's event

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """Built when first asked for: most commands answer without any
        conversation, and importing every flow is a good part of their start."""
        from bot.dispatcher import Dispatcher
        from handlers.flows import build_flows

        return Dispatcher(
            db=self.db,
            flows=build_flows(),
            services=self.services,
            settings=self.settings,
            clock=self.clock,
            react=self.react,
        )

    def channel_parts(self) -> dict[str, Any]:
        """What every chat channel is built from, besides its client and settings."""
        return {
            "dispatcher": self.dispatcher,
            "catalogue": self.services.catalogue,
            "media": MediaStore(self.settings.data_dir / "media"),
            "metrics": self.metrics,
            "sending": self.sending,
            "max_file_mb": self.settings.max_file_mb,
        }

    def calendar(self) -> Calendar:
        return Calendar.of(self.settings.reminders, self.services.zone)

    def planner(self) -> ReminderPlanner:
        return ReminderPlanner(db=self.db, calendar=self.calendar())

    def drainer(self, channels: Mapping[str, Channel]) -> Drainer:
        """The outbox drainer over `channels` (rows for any other channel wait)."""
        from bot.drainer import Drainer  # only the bot and the reminder commands send

        return Drainer(
            db=self.db,
            settings=self.settings.reminders,
            calendar=self.calendar(),
            catalogue=self.services.catalogue,
            channels=channels,
            sending=self.sending,
            writes=self.writes,
            renewal=self.services.settings.renewal,
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )

    def tell_helpdesk_waiting(self) -> int:
        """Those waiting for an operator's answer after hours hear when it comes."""
        with self.db.transaction() as session:
            return tell_waiting_after_hours(
                session,
                office=self.services.settings.office,
                catalogue=self.services.catalogue,
                local=self.clock().astimezone(self.services.zone),
            )

    def close(self) -> None:
        self.db.dispose()


def flow_settings(settings: Settings) -> FlowSettings:
    return FlowSettings(
        timezone=settings.timezone,
        max_failed_checks=settings.coverage.max_failed_checks,
        check_window_minutes=settings.coverage.window_minutes,
        officer_max_failed_checks=settings.coverage.officer_max_failed_checks,
        nik_max_failed_checks=settings.coverage.nik_max_failed_checks,
        nik_window_minutes=settings.coverage.nik_window_hours * 60,
        office=OfficeHours.of(
            settings.helpdesk.office_from, settings.helpdesk.office_until, settings.helpdesk.office_days
        ),
        renewal=renewal_facts(settings),
    )


def renewal_facts(settings: Settings) -> RenewalFacts:
    decided = settings.renewal
    default = Decision(
        period_end=decided.period_end,
        state=decided.state,
        expected_start=decided.expected_start,
        note_id=decided.note_id,
        note_en=decided.note_en,
        decided_on=decided.decided_on,
    )
    return RenewalFacts(default, tuple(decided.go_alone_stages), settings.programme.bpu.monthly_contribution)


def build_app(settings: Settings, *, clock: Clock = utc_now) -> App:
    db = Database(settings.resolved_database_url)
    db.upgrade()
    with db.transaction() as session:
        with_lookup_indexes(session)  # a first import stopped halfway left them unbuilt
    catalogue = Catalogue.load(
        params={
            "regency": settings.programme.regency_name,
            "max_file_mb": str(settings.max_file_mb),
            **settings.contacts.model_dump(),
        },
        override_dir=settings.texts_dir,
    )
    services = Services(
        flow_settings(settings),
        IdentityHasher(load_nik_key(settings)),
        catalogue,
        ChannelCapabilities((*ALWAYS, *settings.channels())),
        partial(reminders_reach, settings),
    )
    notices = Notices(settings=settings, catalogue=catalogue)
    planner = ReminderPlanner(db=db, calendar=Calendar.of(settings.reminders, services.zone))
    metrics = Metrics()
    alarm = CheckAlarm(per_minute=settings.coverage.alarm_failed_per_minute, metrics=metrics)

    def react(session: Session, event: Event, now: datetime) -> None:
        """What the application does besides replying, for each step's event."""
        for reactor in (notices, planner, alarm):
            reactor.react(session, event, now)

    writes = GroupCommit(db)
    sending = Sending(
        db=db,
        writes=writes,
        clock=clock,
        metrics=metrics,
        default_language=settings.default_language,
        resend_after=timedelta(seconds=settings.resend_unsent_after_seconds),
        queue_limit=settings.queued_replies_limit,
    )
    return App(settings, db, services, notices, sending, clock, metrics, writes, react)
