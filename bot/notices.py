"""Notices: what Payung tells people unasked about a report. A new report
goes to the operators (the Telegram group and the WhatsApp numbers in
config); a status change goes to its reporter and to the village officers
of the person it is about, each in their own language.
Each is an outbox row written in the same transaction as the change it
tells of, so none is lost: the drainer sends it, retrying on failure."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_date
from sqlmodel import Session

from handlers.flow import Services
from handlers.texts import LANGUAGES
from storage import outbox
from storage.chats import recipient
from storage.incidents import Report, attachments
from storage.officers import officer_chats

OPERATORS_LANGUAGE = LANGUAGES[0]


def operator_chats(session: Session, services: Services, now: datetime) -> list[int]:
    """The chat rows of every configured operator recipient."""
    settings = services.settings
    addresses = []
    if settings.telegram.enabled and settings.telegram.operator_chat_id is not None:
        addresses.append(("telegram", str(settings.telegram.operator_chat_id)))
    if settings.whatsapp.enabled:
        addresses.extend(("whatsapp", number) for number in settings.whatsapp.operator_numbers)
    return [recipient(session, channel=channel, chat_id=chat_id, language=OPERATORS_LANGUAGE, now=now)
            for channel, chat_id in addresses]  # fmt: skip


def report_filed(session: Session, *, report: Report, services: Services, now: datetime) -> int:
    """Tell the operators of a new report; how many recipients."""
    t = services.catalogue[OPERATORS_LANGUAGE]
    files = [{"sha256": sha256, "mime_type": mime_type, "size": size, "path": path}
             for sha256, mime_type, size, path in attachments(session, incident_id=report.id)]  # fmt: skip
    if report.covered is None:
        roster = t("operators.not_in_roster")
    else:
        roster = t("operators.covered" if report.covered else "operators.not_covered")
    reporter = t("operators.by_self") if report.affected == "self" else t(f"incident.relation_{report.relation}")
    place = report.place
    if report.latitude is not None:
        place = f"{place} https://maps.google.com/?q={report.latitude},{report.longitude}"
    body = t("operators.new_report", reference=report.reference, kind=t(f"incident.kind_{report.kind}"),
             date=format_date(report.occurred_on, "d MMMM y", locale=t.language), name=report.name,
             nik=report.nik_masked, reporter=reporter, channel=report.reporter_channel, roster=roster, place=place,
             chronology=report.chronology, phone=report.phone, files=len(files))  # fmt: skip
    chats = operator_chats(session, services, now)
    for chat_pk in chats:
        outbox.notify(session, key=f"notice:report:{report.reference}:{chat_pk}", chat_pk=chat_pk, body=body, now=now,
                      attachments=files)  # fmt: skip
    return len(chats)


def status_changed(session: Session, *, report: Report, note: str | None, services: Services, now: datetime) -> None:
    """Tell the reporter, and the village officers of the person it is
    about, each in their language, that the report moved on."""
    told = [(report.reporter_chat_pk, report.reporter_language)]
    if report.village is not None:
        officers = officer_chats(session, village=report.village, district=report.district)
        told += [(chat_pk, language) for chat_pk, language in officers if chat_pk != report.reporter_chat_pk]
    for chat_pk, language in told:
        t = services.catalogue[language]
        body = t("status.changed", reference=report.reference, status=t(f"status.{report.status}"))
        if note:
            body = f"{body}\n{t('status.changed_note', note=note)}"
        key = f"notice:status:{report.reference}:{report.status}:{now.isoformat()}:{chat_pk}"
        outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=now)


def claim_updated(session: Session, *, report: Report, changes: list[str], officer: str, services: Services,
                  now: datetime) -> int:  # fmt: skip
    """Tell the operators what a village officer added to a report's claim."""
    t = services.catalogue[OPERATORS_LANGUAGE]
    body = t("operators.claim_updated", reference=report.reference, officer=officer, changes="\n".join(changes))
    chats = operator_chats(session, services, now)
    for chat_pk in chats:
        key = f"notice:claim:{report.reference}:{now.isoformat()}:{chat_pk}"
        outbox.notify(session, key=key, chat_pk=chat_pk, body=body, now=now)
    return len(chats)
