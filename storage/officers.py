"""Village officers, the chats linked to them, and what an officer may see:
the residents and reports of their own village."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, select, update
from sqlmodel import Session

from storage.chats import STANDING, OpenChat, standing_link
from storage.db import PerDialect
from storage.participants import ParticipantRow, find_participant
from storage.tables import CHATS, INCIDENTS, LINKS, OFFICERS, PARTICIPANTS, SUBSCRIPTIONS

UPSERT = PerDialect(
    lambda insert: insert(OFFICERS).on_conflict_do_update(
        index_elements=["nik_hash"],
        set_={
            name: insert(OFFICERS).excluded[name]
            for name in ("nik_masked", "birth_hash", "name", "position", "village", "district", "phone", "updated_at")
        },
    )
)


@dataclass(frozen=True)
class OfficerRow:
    id: int
    nik_hash: str
    nik_masked: str
    birth_hash: str
    name: str
    position: str
    village: str
    district: str
    phone: str


OFFICER = select(
    OFFICERS.c.id,
    OFFICERS.c.nik_hash,
    OFFICERS.c.nik_masked,
    OFFICERS.c.birth_hash,
    OFFICERS.c.name,
    OFFICERS.c.position,
    OFFICERS.c.village,
    OFFICERS.c.district,
    OFFICERS.c.phone,
)


PLACE_PREFIX = re.compile(r"^(?:desa|ds|kelurahan|kel|kecamatan|kec)\b\.?\s*")


def place_key(name: str) -> str:
    """A village's or district's name as compared: case, spaces, punctuation
    and a leading "Desa" or "Kec." do not count ("Ds. Talang-Demo" is
    "talang demo")."""
    return re.sub(r"[\W_]+", "", PLACE_PREFIX.sub("", name.casefold().strip()))


def roster_places(session: Session) -> dict[tuple[str, str], tuple[str, str]]:
    """Each (village, district) of the roster as spelled there, by its place_key pair."""
    rows = session.connection().execute(select(PARTICIPANTS.c.village, PARTICIPANTS.c.district).distinct())
    return {(place_key(village), place_key(district)): (village, district) for village, district in rows}


def align_village(session: Session, officer: OfficerRow) -> OfficerRow:
    """The officer's village spelled as the roster spells it now (a roster
    imported again may write it differently), so that they see its residents."""
    spelled = roster_places(session).get((place_key(officer.village), place_key(officer.district)))
    if spelled is None or spelled == (officer.village, officer.district):
        return officer
    session.connection().execute(
        update(OFFICERS).where(OFFICERS.c.id == officer.id).values(village=spelled[0], district=spelled[1])
    )
    return replace(officer, village=spelled[0], district=spelled[1])


def upsert_officers(session: Session, rows: Iterable[dict[str, Any]], *, now: datetime) -> int:
    rows = [{**row, "created_at": now, "updated_at": now} for row in rows]
    if rows:
        connection = session.connection()
        connection.execute(UPSERT[connection.dialect.name], rows)
    return len(rows)


def known_officers(session: Session, *, nik_hashes: list[str]) -> set[str]:
    """Which of these NIK hashes are officers already."""
    found = session.connection().execute(select(OFFICERS.c.nik_hash).where(OFFICERS.c.nik_hash.in_(nik_hashes)))
    return {nik_hash for (nik_hash,) in found}


def find_officer(session: Session, *, nik_hash: str) -> OfficerRow | None:
    row = session.connection().execute(OFFICER.where(OFFICERS.c.nik_hash == nik_hash)).first()
    return OfficerRow(*row) if row else None


# Built once: every menu a chat is shown asks it (building it per call had
# cost a sixth of the dispatcher's time).
LINKED_OFFICER = OFFICER.join(LINKS, LINKS.c.officer_id == OFFICERS.c.id).where(*standing_link(bindparam("chat_pk")))


def linked_officer(session: Session, *, chat: OpenChat) -> OfficerRow | None:
    """The officer this chat is linked to, while the link stands. Read only
    if a link stood as the message came in (open_chat tells) or was made
    since: most chats are residents', and every menu asks."""
    return officer_of_chat(session, chat_pk=chat.id) if chat.linked else None


def officer_of_chat(session: Session, *, chat_pk: int) -> OfficerRow | None:
    row = session.connection().execute(LINKED_OFFICER, {"chat_pk": chat_pk}).first()
    return OfficerRow(*row) if row else None


def link(session: Session, *, officer_id: int, chat: OpenChat, now: datetime) -> None:
    session.connection().execute(LINKS.insert().values(officer_id=officer_id, chat_pk=chat.id, linked_at=now))
    chat.linked = True


def unlink(session: Session, *, officer_id: int, by: str, now: datetime) -> int:
    """Revoke every standing link of an officer; how many."""
    result = session.connection().execute(
        update(LINKS).where(LINKS.c.officer_id == officer_id, STANDING).values(revoked_at=now, revoked_by=by)
    )
    return result.rowcount


def officer_chats(session: Session, *, village: str, district: str) -> list[tuple[int, str]]:
    """(chat, language) of every chat linked to an officer of this village."""
    statement = (
        select(CHATS.c.id, CHATS.c.language)
        .join(LINKS, LINKS.c.chat_pk == CHATS.c.id)
        .join(OFFICERS, OFFICERS.c.id == LINKS.c.officer_id)
        .where(OFFICERS.c.village == village, OFFICERS.c.district == district, STANDING)
    )
    return [tuple(row) for row in session.connection().execute(statement)]


def officers(session: Session) -> list[tuple[OfficerRow, int]]:
    """Every officer and how many chats are linked to them now."""
    linked = (
        select(LINKS.c.officer_id, func.count().label("chats")).where(STANDING).group_by(LINKS.c.officer_id).subquery()
    )
    statement = (
        OFFICER.add_columns(func.coalesce(linked.c.chats, 0))
        .outerjoin(linked, linked.c.officer_id == OFFICERS.c.id)
        .order_by(OFFICERS.c.district, OFFICERS.c.village, OFFICERS.c.name)
    )
    return [(OfficerRow(*row[:-1]), row[-1]) for row in session.connection().execute(statement)]


def resident(session: Session, *, nik_hash: str, officer: OfficerRow) -> ParticipantRow | None:
    """A participant of the officer's own village, by NIK hash; None for
    anyone else, whether or not they exist."""
    person = find_participant(session, nik_hash=nik_hash)
    if person is None or (person.village, person.district) != (officer.village, officer.district):
        return None
    return person


def reached(connection: Connection, *residents: ColumnElement[bool]) -> tuple[int, int]:
    """How many participants match `residents`, and how many of them a chat
    has asked to be reminded about."""
    total = connection.execute(select(func.count()).select_from(PARTICIPANTS).where(*residents)).scalar_one()
    reminded = connection.execute(
        select(func.count(func.distinct(SUBSCRIPTIONS.c.participant_id)))
        .join(PARTICIPANTS, PARTICIPANTS.c.id == SUBSCRIPTIONS.c.participant_id)
        .where(*residents, SUBSCRIPTIONS.c.active)
    ).scalar_one()
    return total, reminded


@dataclass(frozen=True)
class VillageSummary:
    by_category: list[tuple[str, int]]
    cover_ends: list[tuple[date, int]]
    reports_by_status: list[tuple[str, int]]
    residents: int
    not_opted_in: int


def not_opted_in(session: Session, *, officer: OfficerRow, offset: int, limit: int) -> list[tuple[str, str]]:
    """(name, category) of the officer's residents whom no chat has asked to
    be reminded about, by name: whom the officer may go and tell."""
    reminded = select(SUBSCRIPTIONS.c.participant_id).where(SUBSCRIPTIONS.c.active)
    statement = (
        select(PARTICIPANTS.c.name, PARTICIPANTS.c.category)
        .where(
            PARTICIPANTS.c.village == officer.village,
            PARTICIPANTS.c.district == officer.district,
            PARTICIPANTS.c.id.not_in(reminded),
        )
        .order_by(PARTICIPANTS.c.name, PARTICIPANTS.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [tuple(row) for row in session.connection().execute(statement)]


def village_summary(session: Session, *, officer: OfficerRow) -> VillageSummary:
    connection = session.connection()
    village = (PARTICIPANTS.c.village == officer.village, PARTICIPANTS.c.district == officer.district)

    def count_by(column, *join) -> list:
        statement = select(column, func.count())
        if join:
            statement = statement.join(*join)
        return connection.execute(statement.where(*village).group_by(column).order_by(column)).all()

    by_category = count_by(PARTICIPANTS.c.category)
    cover_ends = count_by(PARTICIPANTS.c.cover_end)
    reports = count_by(INCIDENTS.c.status, PARTICIPANTS, PARTICIPANTS.c.id == INCIDENTS.c.participant_id)
    residents, opted_in = reached(connection, *village)
    return VillageSummary(
        [tuple(r) for r in by_category],
        [tuple(r) for r in cover_ends],
        [tuple(r) for r in reports],
        residents,
        residents - opted_in,
    )
