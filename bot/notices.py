"""Notices: what Payung tells people unasked about a report. A new report
goes to the operators (each enabled channel's operator addresses in
config); a status change goes to its reporter and to the village officers
of the person it is about, each in their own language; a village officer's
claim update goes to the operators.

Each is an outbox row written in the same transaction as the change it
tells of (flows emit events; `react` turns them into notices), so none is
lost: the drainer sends it, retrying on failure."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.config import Settings
from handlers.events import ClaimUpdated, Event, FilesAdded, HelpRequested, NikLocked, ReportFiled
from handlers.texts import OPERATORS_LANGUAGE, Catalogue
from handlers.wording import written_date
from storage import outbox
from storage.chats import recipient
from storage.incidents import Report, attachments, report
from storage.media import Media
from storage.officers import officer_chats


class Notices:
    def __init__(self, *, settings: Settings, catalogue: Catalogue):
        self.settings = settings
        self.catalogue = catalogue

    def react(self, session: Session, event: Event, now: datetime) -> None:
        """Act on what a conversation step emitted, in its transaction."""
        match event:
            case ReportFiled(reference=reference):
                self.report_filed(session, report=report(session, reference=reference), now=now)
            case ClaimUpdated(reference=reference, officer=officer, changes=changes):
                self.claim_updated(session, report=report(session, reference=reference), changes=changes,
                                   officer=officer, now=now)  # fmt: skip
            case FilesAdded(reference=reference, officer=officer, files=files):
                self.files_added(session, reference=reference, officer=officer, files=files, now=now)
            case NikLocked():
                self.nik_locked(session, event, now)
            case HelpRequested(thread_id=thread_id):
                self.help_requested(session, thread_id=thread_id, now=now)

    def operator_chats(self, session: Session, now: datetime) -> list[int]:
        """The chat rows of every enabled channel's operator addresses."""
        return [
            recipient(session, channel=name, chat_id=address, language=OPERATORS_LANGUAGE, now=now)
            for name, channel in self.settings.channels().items()
            if channel.enabled
            for address in channel.operator_addresses()
        ]

    def help_requested(self, session: Session, *, thread_id: int, now: datetime) -> None:
        """Tell the operators a person waits on the Helpdesk page: the
        thread's number only, no name, number or words of the person's."""
        body = self.catalogue[OPERATORS_LANGUAGE]("helpdesk.new_thread", thread=thread_id)
        for chat_pk in self.operator_chats(session, now):
            outbox.notify(session, key=f"notice:help:{thread_id}:{chat_pk}", chat_pk=chat_pk, body=body, now=now)

    def report_filed(self, session: Session, *, report: Report, now: datetime) -> int:
        """Tell the operators of a new report; how many recipients."""
        t = self.catalogue[OPERATORS_LANGUAGE]
        files = attachments(session, incident_id=report.id)
        if report.covered is None:
            roster = t("operators.not_in_roster")
        else:
            roster = t("operators.covered" if report.covered else "operators.not_covered")
        reporter = t("operators.by_self") if report.affected == "self" else t(f"incident.relation_{report.relation}")
        place = report.place
        if report.latitude is not None:
            place = f"{place} https://maps.google.com/?q={report.latitude},{report.longitude}"
        body = t(
            "operators.new_report",
            reference=report.reference,
            kind=t(f"incident.kind_{report.kind}"),
            date=written_date(t, report.occurred_on),
            name=report.name,
            nik=report.nik_masked,
            reporter=reporter,
            channel=report.reporter_channel,
            roster=roster,
            place=place,
            chronology=report.chronology,
            phone=report.phone,
            files=len(files),
            captions="".join(f"\n• {item.caption}" for item in files if item.caption),
        )
        chats = self.operator_chats(session, now)
        for chat_pk in chats:
            key = f"notice:report:{report.reference}:{chat_pk}"
            outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=now, attachments=files)
        return len(chats)

    def status_changed(self, session: Session, *, report: Report, note: str | None, now: datetime) -> None:
        """Tell the reporter, and the village officers of the person it is
        about, each in their language, that the report moved on."""
        told = [(report.reporter_chat_pk, report.reporter_language)]
        if report.village is not None:
            officers = officer_chats(session, village=report.village, district=report.district)
            told += [(chat_pk, language) for chat_pk, language in officers if chat_pk != report.reporter_chat_pk]
        for chat_pk, language in told:
            t = self.catalogue[language]
            body = t("status.changed", reference=report.reference, status=t(f"status.{report.status}"))
            if note:
                body = f"{body}\n{t('status.changed_note', note=note)}"
            key = f"notice:status:{report.reference}:{report.status}:{now.isoformat()}:{chat_pk}"
            outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=now)

    def nik_locked(self, session: Session, locked: NikLocked, now: datetime) -> None:
        """Tell the operators, once a window, that one NIK is being tried from many chats."""
        t, coverage = self.catalogue[OPERATORS_LANGUAGE], self.settings.coverage
        place = (
            t("operators.village_place", village=locked.village, district=locked.district)
            if locked.village
            else t("operators.not_in_roster_place")
        )
        body = t(
            "operators.nik_locked",
            nik=locked.nik_masked,
            place=place,
            count=coverage.nik_max_failed_checks,
            hours=coverage.nik_window_hours,
        )
        for chat_pk in self.operator_chats(session, now):
            key = f"notice:nik:{locked.nik_masked}:{now.isoformat()}:{chat_pk}"
            outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=now)

    def files_added(
        self, session: Session, *, reference: str, officer: str | None, files: tuple[Media, ...], now: datetime
    ) -> None:
        """Send the operators the documents that came after the report, with their captions."""
        t = self.catalogue[OPERATORS_LANGUAGE]
        body = t(
            "operators.files_added",
            reference=reference,
            by=t("operators.by_officer", officer=officer) if officer else t("operators.by_reporter"),
            count=len(files),
            captions="".join(f"\n• {item.caption}" for item in files if item.caption),
        )
        for chat_pk in self.operator_chats(session, now):
            key = f"notice:files:{reference}:{now.isoformat()}:{chat_pk}"
            outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=now, attachments=list(files))

    def claim_updated(
        self, session: Session, *, report: Report, changes: tuple[str, ...], officer: str, now: datetime
    ) -> int:
        """Tell the operators what a village officer added to a report's claim."""
        t = self.catalogue[OPERATORS_LANGUAGE]
        body = t("operators.claim_updated", reference=report.reference, officer=officer, changes="\n".join(changes))
        chats = self.operator_chats(session, now)
        for chat_pk in chats:
            key = f"notice:claim:{report.reference}:{now.isoformat()}:{chat_pk}"
            outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=now)
        return len(chats)
