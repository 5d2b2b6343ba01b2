"""Incident reports: numbering, filing, status history, and the reads the
reporter, the flows and the operators make."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from storage.chats import OpenChat
from storage.db import PerDialect
from storage.media import Media
from storage.report_statuses import FIRST_STATUS, NEEDS_REASON, STATUSES
from storage.tables import (
    ATTACHMENTS,
    CHANGES,
    CHATS,
    COUNTERS,
    DOCUMENTS,
    INCIDENTS,
    LINKS,
    NOTES,
    OFFICERS,
    PARTICIPANTS,
)

KINDS = ("work_accident", "commute_accident", "occupational_disease", "work_death", "death")
DEATHS = ("work_death", "death")
MAX_CAPTION = 1000
MAX_STATUS_NOTE = 500  # incident_status_changes.note
MAX_ACTOR = 120  # incident_status_changes.actor: a long Telegram name is cut, not refused
# "family" (other family) stays for reports filed before the nearer relations were offered.
RELATIONS = ("spouse", "child", "parent", "sibling", "family", "neighbour", "coworker", "village_officer", "other")


class StatusError(ValueError):
    """A status change an operator asked for that cannot be made."""


OPEN_YEAR = PerDialect(lambda insert: insert(COUNTERS).on_conflict_do_nothing(index_elements=["year"]))


def next_reference(session: Session, *, year: int) -> str:
    """LK-<year>-<number>, numbered from 1 each year. The counter row is
    incremented in place: PostgreSQL locks the row until this transaction
    ends and SQLite holds its write lock, so two reports never share one."""
    connection = session.connection()
    connection.execute(OPEN_YEAR[connection.dialect.name], {"year": year, "last": 0})
    number = connection.execute(
        update(COUNTERS).where(COUNTERS.c.year == year).values(last=COUNTERS.c.last + 1).returning(COUNTERS.c.last)
    ).scalar_one()
    return f"LK-{year}-{number:06d}"


def file_incident(
    session: Session,
    *,
    reporter: OpenChat,
    fields: dict[str, Any],
    files: Iterable[Media],
    now: datetime,
    year: int,
) -> str:
    """Store a submitted report, its files and its first status; the
    reference number it was given."""
    reference = next_reference(session, year=year)
    connection = session.connection()
    row = {
        **fields,
        "reference": reference,
        "reporter_chat_pk": reporter.id,
        "status": FIRST_STATUS,
        "created_at": now,
        "updated_at": now,
    }
    incident_id = connection.execute(INCIDENTS.insert().values(row).returning(INCIDENTS.c.id)).scalar_one()
    add_files(session, incident_id=incident_id, files=files, now=now)
    connection.execute(CHANGES.insert().values(incident_id=incident_id, status=FIRST_STATUS, actor="reporter", at=now))
    return reference


@dataclass(frozen=True)
class Change:
    status: str
    note: str | None
    actor: str
    at: datetime


class Note(NamedTuple):
    """What someone wrote on a report (a village officer, for its claim)."""

    author: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Report:
    id: int
    reference: str
    reporter_chat_pk: int
    reporter_channel: str
    reporter_chat_id: str
    reporter_language: str
    affected: str
    relation: str | None
    participant_id: int | None
    nik_hash: str
    nik_masked: str
    name: str
    kind: str
    occurred_on: date
    covered: bool | None
    place: str
    latitude: float | None
    longitude: float | None
    chronology: str
    phone: str
    status: str
    created_at: datetime
    updated_at: datetime
    district: str | None  # the roster's, when the person is in it
    village: str | None


REPORT = (
    select(
        INCIDENTS.c.id,
        INCIDENTS.c.reference,
        INCIDENTS.c.reporter_chat_pk,
        CHATS.c.channel,
        CHATS.c.chat_id,
        CHATS.c.language,
        INCIDENTS.c.affected,
        INCIDENTS.c.relation,
        INCIDENTS.c.participant_id,
        INCIDENTS.c.nik_hash,
        INCIDENTS.c.nik_masked,
        INCIDENTS.c.name,
        INCIDENTS.c.kind,
        INCIDENTS.c.occurred_on,
        INCIDENTS.c.covered,
        INCIDENTS.c.place,
        INCIDENTS.c.latitude,
        INCIDENTS.c.longitude,
        INCIDENTS.c.chronology,
        INCIDENTS.c.phone,
        INCIDENTS.c.status,
        INCIDENTS.c.created_at,
        INCIDENTS.c.updated_at,
        PARTICIPANTS.c.district,
        PARTICIPANTS.c.village,
    )
    .join(CHATS, CHATS.c.id == INCIDENTS.c.reporter_chat_pk)
    .outerjoin(PARTICIPANTS, PARTICIPANTS.c.id == INCIDENTS.c.participant_id)
)


def report(session: Session, *, reference: str) -> Report | None:
    row = session.connection().execute(REPORT.where(INCIDENTS.c.reference == reference.upper())).first()
    return Report(*row) if row else None


def reports(
    session: Session,
    *,
    reporter: OpenChat | None = None,
    about: Collection[int] = (),
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Report]:
    """Reports, newest first: a reporter's own and those about the
    participants `about`, or any by status and filing time."""
    statement = REPORT.order_by(INCIDENTS.c.id.desc())
    if reporter is not None:
        mine = INCIDENTS.c.reporter_chat_pk == reporter.id
        statement = statement.where(or_(mine, INCIDENTS.c.participant_id.in_(list(about))) if about else mine)
    if status is not None:
        statement = statement.where(INCIDENTS.c.status == status)
    if since is not None:
        statement = statement.where(INCIDENTS.c.created_at >= since)
    if until is not None:
        statement = statement.where(INCIDENTS.c.created_at < until)
    return [Report(*row) for row in session.connection().execute(statement)]


def _of_report(session: Session, incident_id: int, table, *columns: str) -> list[tuple]:
    """`columns` of a report's rows in `table`, oldest first."""
    statement = select(*(table.c[name] for name in columns)).where(table.c.incident_id == incident_id)
    return [tuple(row) for row in session.connection().execute(statement.order_by(table.c.id))]


def history(session: Session, *, incident_id: int) -> list[Change]:
    return [Change(*row) for row in _of_report(session, incident_id, CHANGES, "status", "note", "actor", "at")]


def attachments(session: Session, *, incident_id: int) -> list[Media]:
    """A report's files, in the order sent."""
    columns = ("path", "sha256", "mime_type", "size", "caption")
    return [Media(*row) for row in _of_report(session, incident_id, ATTACHMENTS, *columns)]


def add_files(session: Session, *, incident_id: int, files: Iterable[Media], now: datetime) -> int:
    """Files for a report, at filing or later (a village officer's); how many."""
    rows = [
        {**item.as_json(), "caption": item.caption[:MAX_CAPTION], "incident_id": incident_id, "created_at": now}
        for item in files
    ]
    if rows:
        session.connection().execute(ATTACHMENTS.insert(), rows)
    return len(rows)


def ticked(session: Session, *, incident_id: int) -> set[str]:
    """The checklist items ticked as ready."""
    statement = select(DOCUMENTS.c.item).where(DOCUMENTS.c.incident_id == incident_id)
    return {item for (item,) in session.connection().execute(statement)}


def toggle_document(session: Session, *, incident_id: int, item: str, by: str, now: datetime) -> bool:
    """Tick an item, or untick it if it was ticked; whether it is ticked now."""
    connection = session.connection()
    removed = connection.execute(
        DOCUMENTS.delete().where(DOCUMENTS.c.incident_id == incident_id, DOCUMENTS.c.item == item)
    ).rowcount
    if removed:
        return False
    connection.execute(DOCUMENTS.insert().values(incident_id=incident_id, item=item[:200], ticked_by=by, ticked_at=now))
    return True


def add_note(session: Session, *, incident_id: int, author: str, text: str, now: datetime) -> None:
    session.connection().execute(NOTES.insert().values(incident_id=incident_id, author=author, text=text[:500], at=now))


def notes(session: Session, *, incident_id: int) -> list[Note]:
    """Oldest first."""
    return [Note(*row) for row in _of_report(session, incident_id, NOTES, "author", "text", "at")]


def village_reports(session: Session, *, village: str, district: str, open_only: bool = True) -> list[Report]:
    """Reports about residents of a village, newest first; by default those
    not yet selesai or ditolak."""
    statement = REPORT.where(PARTICIPANTS.c.village == village, PARTICIPANTS.c.district == district)
    if open_only:
        statement = statement.where(INCIDENTS.c.status.not_in(("selesai", "ditolak")))
    return [Report(*row) for row in session.connection().execute(statement.order_by(INCIDENTS.c.id.desc()))]


def attachment_captions(session: Session) -> dict[int, list[str]]:
    """Each report's files' captions ("" where none was written), for the export."""
    statement = select(ATTACHMENTS.c.incident_id, ATTACHMENTS.c.caption).order_by(ATTACHMENTS.c.id)
    captions: dict[int, list[str]] = {}
    for incident_id, caption in session.connection().execute(statement):
        captions.setdefault(incident_id, []).append(caption)
    return captions


def set_status(
    session: Session, *, reference: str, status: str, note: str | None, actor: str, now: datetime
) -> Report | None:
    """Move a report to `status`, recording who and why; the report as it is
    now, or None when there is no such reference."""
    if status not in STATUSES:
        raise StatusError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
    if status == NEEDS_REASON and not (note or "").strip():
        raise StatusError(f"{NEEDS_REASON} needs a reason (--note)")
    if note is not None and len(note) > MAX_STATUS_NOTE:
        # Checked here, not by the column: PostgreSQL refuses what SQLite would store.
        raise StatusError(f"a note holds at most {MAX_STATUS_NOTE} characters (this one has {len(note)})")
    found = report(session, reference=reference)
    if found is None:
        return None
    connection = session.connection()
    connection.execute(update(INCIDENTS).where(INCIDENTS.c.id == found.id).values(status=status, updated_at=now))
    row = {"incident_id": found.id, "status": status, "note": note, "actor": actor[:MAX_ACTOR], "at": now}
    connection.execute(CHANGES.insert().values(**row))
    return report(session, reference=reference)


def count_by(session: Session, column: str, *, districts: Collection[str] | None = None) -> list[tuple[str, int]]:
    """How many reports per kind, status or district (the roster's; none for
    a person not in it), for `stats`; of the given districts only when named."""
    field = PARTICIPANTS.c.district if column == "district" else INCIDENTS.c[column]
    statement = (
        select(field, func.count())
        .select_from(INCIDENTS)
        .outerjoin(PARTICIPANTS, PARTICIPANTS.c.id == INCIDENTS.c.participant_id)
        .group_by(field)
        .order_by(field)
    )
    if districts is not None:
        statement = statement.where(PARTICIPANTS.c.district.in_(list(districts)))
    return [(value or "-", count) for value, count in session.connection().execute(statement)]


FINAL = ("selesai", "ditolak")


@dataclass(frozen=True)
class Queue:
    """Which reports a queue shows: every filter optional."""

    status: str | None = None
    kind: str | None = None
    district: str | None = None
    since: datetime | None = None  # filed at or after
    until: datetime | None = None  # filed before
    reference: str | None = None  # a part of the number, as stored (upper case)


def queue(
    session: Session,
    *,
    filters: Queue,
    districts: Collection[str] | None,
    offset: int = 0,
    limit: int | None = None,
    open_first: bool = True,
) -> tuple[list[Report], int]:
    """A page of reports, open ones first and the oldest of them at the top
    (what waits longest is done first) or, not `open_first`, simply oldest
    first; and how many match in all. Only about people of `districts` when
    named."""
    conditions = []
    if districts is not None:
        conditions.append(PARTICIPANTS.c.district.in_(list(districts)))
    if filters.status is not None:
        conditions.append(INCIDENTS.c.status == filters.status)
    if filters.kind is not None:
        conditions.append(INCIDENTS.c.kind == filters.kind)
    if filters.district is not None:
        conditions.append(PARTICIPANTS.c.district == filters.district)
    if filters.since is not None:
        conditions.append(INCIDENTS.c.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(INCIDENTS.c.created_at < filters.until)
    if filters.reference:
        conditions.append(INCIDENTS.c.reference.contains(filters.reference, autoescape=True))
    order = (INCIDENTS.c.status.in_(FINAL),) if open_first else ()
    statement = REPORT.where(*conditions).order_by(*order, INCIDENTS.c.created_at, INCIDENTS.c.id)
    connection = session.connection()
    rows = connection.execute(statement.offset(offset).limit(limit))
    counted = (
        select(func.count())
        .select_from(INCIDENTS.outerjoin(PARTICIPANTS, PARTICIPANTS.c.id == INCIDENTS.c.participant_id))
        .where(*conditions)
    )
    return [Report(*row) for row in rows], connection.execute(counted).scalar_one()


def ticks(session: Session, *, incident_id: int) -> dict[str, tuple[str, datetime]]:
    """The checklist items ticked as ready: who ticked each and when."""
    statement = select(DOCUMENTS.c.item, DOCUMENTS.c.ticked_by, DOCUMENTS.c.ticked_at).where(
        DOCUMENTS.c.incident_id == incident_id
    )
    return {item: (by, at) for item, by, at in session.connection().execute(statement)}


def open_older_than(session: Session, *, before: datetime, districts: Collection[str] | None) -> int:
    """How many reports filed before `before` are still open."""
    statement = (
        select(func.count())
        .select_from(INCIDENTS.outerjoin(PARTICIPANTS, PARTICIPANTS.c.id == INCIDENTS.c.participant_id))
        .where(INCIDENTS.c.status.not_in(FINAL), INCIDENTS.c.created_at < before)
    )
    if districts is not None:
        statement = statement.where(PARTICIPANTS.c.district.in_(list(districts)))
    return session.connection().execute(statement).scalar_one()


def reports_about(session: Session, *, participant_id: int) -> list[Report]:
    """Reports about one person of the roster, newest first."""
    statement = REPORT.where(INCIDENTS.c.participant_id == participant_id).order_by(INCIDENTS.c.id.desc())
    return [Report(*row) for row in session.connection().execute(statement)]


@dataclass
class ClaimColumns:
    """What BPJS staff need besides the report itself, for the export."""

    kpj: str = ""
    ticked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    filed_by_officer: str = ""  # the village officer whose linked chat filed it


def claim_columns(session: Session) -> dict[int, ClaimColumns]:
    connection = session.connection()
    columns: dict[int, ClaimColumns] = {}

    def of(incident_id: int) -> ClaimColumns:
        return columns.setdefault(incident_id, ClaimColumns())

    kpjs = select(INCIDENTS.c.id, PARTICIPANTS.c.kpj).join(
        PARTICIPANTS, PARTICIPANTS.c.id == INCIDENTS.c.participant_id
    )
    for incident_id, kpj in connection.execute(kpjs):
        of(incident_id).kpj = kpj or ""
    for incident_id, item in connection.execute(
        select(DOCUMENTS.c.incident_id, DOCUMENTS.c.item).order_by(DOCUMENTS.c.id)
    ):
        of(incident_id).ticked.append(item)
    for incident_id, author, text in connection.execute(
        select(NOTES.c.incident_id, NOTES.c.author, NOTES.c.text).order_by(NOTES.c.id)
    ):
        of(incident_id).notes.append(f"{author}: {text}")
    linked_then = (
        (LINKS.c.chat_pk == INCIDENTS.c.reporter_chat_pk)
        & (LINKS.c.linked_at <= INCIDENTS.c.created_at)
        & ((LINKS.c.revoked_at.is_(None)) | (LINKS.c.revoked_at > INCIDENTS.c.created_at))
    )
    officers = (
        select(INCIDENTS.c.id, OFFICERS.c.name, OFFICERS.c.position)
        .join(LINKS, linked_then)
        .join(OFFICERS, OFFICERS.c.id == LINKS.c.officer_id)
    )
    for incident_id, name, position in connection.execute(officers):
        of(incident_id).filed_by_officer = f"{name} ({position})"
    return columns
