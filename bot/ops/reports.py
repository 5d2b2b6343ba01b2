"""Incident reports, as operators list, read and move them on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.notices import Notices
from bot.ops.authority import MAY, Actor, Forbidden, Invalid, NotFound
from storage import incidents
from storage.incidents import Change, Note, Queue, Report
from storage.media import Media
from storage.report_statuses import NEEDS_REASON, STATUSES

ALONG = ("diterima", "diverifikasi", "diproses", "selesai")  # a claim's way forward
PAGE = 50  # reports a queue page shows


@dataclass(frozen=True)
class ReportDetail:
    report: Report
    files: list[Media]
    ready: list[str]  # claim documents ticked as complete
    notes: list[Note]
    history: list[Change]
    ticks: dict[str, tuple[str, datetime]]  # who ticked each ready document, and when


def check_move(actor: Actor, current: str, wanted: str) -> None:
    """A claim moves forward, or is refused while open. `selesai` (paid) is
    final for everyone; going back, or reopening a refused report, takes an
    administrator."""
    if wanted not in STATUSES:
        raise Invalid(f"unknown status {wanted!r}: use one of {', '.join(STATUSES)}")
    if wanted == current:
        raise Invalid(f"the report is already {current}")
    if current == "selesai":
        raise Invalid("selesai is final")
    forward = wanted == NEEDS_REASON or (current != NEEDS_REASON and ALONG.index(wanted) > ALONG.index(current))
    if not forward and actor.role != "admin":
        raise Forbidden(f"moving a report back from {current} to {wanted} takes an administrator")


def allowed_moves(actor: Actor, current: str) -> list[str]:
    """The statuses the actor may move a report in `current` to."""
    if "change" not in MAY[actor.role]:
        return []
    moves = []
    for status in STATUSES:
        try:
            check_move(actor, current, status)
        except (Invalid, Forbidden):
            continue
        moves.append(status)
    return moves


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
        ticks=incidents.ticks(session, incident_id=found.id),
    )


def report_queue(session: Session, *, actor: Actor, filters: Queue, page: int) -> tuple[list[Report], int]:
    """A page (from 1) of the reports the actor may see, open and oldest first; how many match."""
    return incidents.queue(
        session, filters=filters, districts=actor.districts, offset=(max(page, 1) - 1) * PAGE, limit=PAGE
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
    check_move(actor, visible(session, actor=actor, reference=reference).status, status.lower())
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


def toggle_document(session: Session, *, actor: Actor, reference: str, item: str, now: datetime) -> bool:
    """Tick a claim document as ready, or untick it; whether it is ticked now."""
    actor.require("change")
    found = visible(session, actor=actor, reference=reference)
    return incidents.toggle_document(session, incident_id=found.id, item=item, by=actor.name, now=now)


def add_note(session: Session, *, actor: Actor, reference: str, text: str, now: datetime) -> None:
    actor.require("change")
    text = text.strip()
    if not text:
        raise Invalid("a note cannot be empty")
    if len(text) > incidents.MAX_STATUS_NOTE:
        raise Invalid(f"a note holds at most {incidents.MAX_STATUS_NOTE} characters (this one has {len(text)})")
    found = visible(session, actor=actor, reference=reference)
    incidents.add_note(session, incident_id=found.id, author=actor.name, text=text, now=now)


def report_file(session: Session, *, actor: Actor, reference: str, number: int) -> Media:
    """A report's file by its place in the list (from 0)."""
    files = incidents.attachments(session, incident_id=visible(session, actor=actor, reference=reference).id)
    if not 0 <= number < len(files):
        raise NotFound(f"no file {number} on {reference}")
    return files[number]
