"""Incident reports, as operators list, read and move them on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.notices import Notices
from bot.ops.authority import Actor, Invalid, NotFound
from storage import incidents
from storage.incidents import Change, Note, Report
from storage.media import Media


@dataclass(frozen=True)
class ReportDetail:
    report: Report
    files: list[Media]
    ready: list[str]  # claim documents ticked as complete
    notes: list[Note]
    history: list[Change]


def visible(session: Session, *, actor: Actor, reference: str) -> Report:
    """The report, if it exists and the actor may see it; the same NotFound
    either way, so a district-scoped account learns nothing of others."""
    found = incidents.report(session, reference=reference)
    if found is None or not actor.sees(found.district):
        raise NotFound(f"no report {reference}")
    return found


def list_reports(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Report]:
    """Reports the actor may see, newest first."""
    found = incidents.reports(session, status=status, since=since, until=until)
    return [item for item in found if actor.sees(item.district)]


def report_detail(session: Session, *, actor: Actor, reference: str) -> ReportDetail:
    found = visible(session, actor=actor, reference=reference)
    return ReportDetail(
        report=found,
        files=incidents.attachments(session, incident_id=found.id),
        ready=sorted(incidents.ticked(session, incident_id=found.id)),
        notes=incidents.notes(session, incident_id=found.id),
        history=incidents.history(session, incident_id=found.id),
    )


def change_status(
    session: Session,
    *,
    actor: Actor,
    reference: str,
    status: str,
    note: str | None,
    notices: Notices,
    now: datetime,
) -> Report:
    """Move a report to `status` under the actor's name, and tell its
    reporter and the person's village officers (notices, same transaction)."""
    actor.require("change")
    visible(session, actor=actor, reference=reference)
    try:
        changed = incidents.set_status(
            session, reference=reference, status=status.lower(), note=note, actor=actor.name, now=now
        )
    except incidents.StatusError as error:
        raise Invalid(str(error)) from None
    if changed is None:  # deleted since it was read: nothing is
        raise NotFound(f"no report {reference}")
    notices.status_changed(session, report=changed, note=note, now=now)
    return changed
