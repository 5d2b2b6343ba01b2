"""The roster: upserts from imports, lookups by keyed NIK hash, counts."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import URL, Connection, bindparam, func, select, update
from sqlmodel import Session

from storage.db import SQLITE_PAGE_CACHE
from storage.models import Participant
from storage.prepared import Prepared
from storage.tables import PARTICIPANTS

# What a roster row sets; everything else (id, timestamps) is the database's.
ROSTER_FIELDS = (
    "nik_masked",
    "birth_hash",
    "name",
    "gender",
    "village",
    "district",
    "category",
    "kpj",
    "phone",
    "cover_start",
    "cover_end",
)


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    extended: list[int] = field(default_factory=list)  # participants whose cover now ends later

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.extended += other.extended


ROW_FIELDS = ("nik_hash", *ROSTER_FIELDS)  # what an import gives
INSERT_FIELDS = (*ROW_FIELDS, "created_at", "updated_at")
FIND_EXISTING = select(
    PARTICIPANTS.c.id, PARTICIPANTS.c.nik_hash, *(PARTICIPANTS.c[name] for name in ROSTER_FIELDS)
).where(PARTICIPANTS.c.nik_hash.in_(bindparam("hashes", expanding=True)))


def upsert_participants(session: Session, rows: Sequence[dict[str, Any]], *, now: datetime) -> UpsertCounts:
    """Insert new NIKs, update changed ones, leave identical ones untouched, so
    re-importing a file is a no-op and a new period moves only what moved."""
    connection = session.connection()
    existing = {
        found.nik_hash: found
        for found in connection.execute(FIND_EXISTING, {"hashes": [row["nik_hash"] for row in rows]})
    }
    counts = UpsertCounts()
    inserts, updates = [], []
    for row in rows:
        old = existing.get(row["nik_hash"])
        if old is None:
            inserts.append(row)
        elif any(getattr(old, name) != row[name] for name in ROSTER_FIELDS):
            updates.append({**row, "id": old.id, "updated_at": now})
            if row["cover_end"] > old.cover_end:
                counts.extended.append(old.id)
        else:
            counts.unchanged += 1
    if inserts:
        insert_new(session, new_rows(connection.engine.url.drivername, inserts, now=now))
    if updates:
        session.execute(update(Participant), updates)
    counts.inserted, counts.updated = len(inserts), len(updates)
    return counts


def new_rows(drivername: str, rows: Sequence[dict[str, Any]], *, now: datetime) -> list[tuple]:
    """Rows of participants none of whom is stored, as the driver of
    `drivername` ("sqlite+pysqlite", "postgresql+psycopg") takes them for
    insert_new: converted by the bind processors SQLAlchemy would apply (the
    timestamps, equal for every row, once). SQLAlchemy's per-row handling
    cost as much as SQLite's own work, and a first import of a big roster is
    all inserts; named by driver, so worker processes can do it."""
    dialect = URL.create(drivername).get_dialect()()
    take = itemgetter(*ROW_FIELDS)
    convert = [
        (position, cache(processor))  # SQLite's dates, the cover's: the same for nearly everyone
        for position, name in enumerate(ROW_FIELDS)
        if (processor := PARTICIPANTS.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    stamp = PARTICIPANTS.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)(now)
    stamps = (stamp, stamp)
    if not convert:
        return [take(row) + stamps for row in rows]
    values = []
    for row in rows:
        cells = list(take(row))
        for position, process in convert:
            cells[position] = process(cells[position])
        values.append((*cells, *stamps))
    return values


COLUMN_TYPES = (  # PostgreSQL: (column, type oid) of a table's columns
    "SELECT attname, atttypid FROM pg_attribute"
    " WHERE attrelid = %(table)s::regclass AND attname = ANY(%(columns)s) AND NOT attisdropped"
)


def insert_new(session: Session, values: Sequence[tuple]) -> int:
    """Participants from new_rows, straight to the driver: COPY on
    PostgreSQL (the server's bulk path, several times executemany's rate),
    executemany on SQLite. How many.

    The COPY is binary: psycopg writes each value in C and the server takes
    it as it is rather than parsing text (a million rows: about 11 -> 5 s
    in COPY, the whole import 30.3 -> 28.0 s). Binary needs each column's
    type, which the server's catalogue gives."""
    connection = session.connection()
    columns = ", ".join(INSERT_FIELDS)
    if connection.dialect.name == "postgresql":
        with connection.connection.dbapi_connection.cursor() as cursor:
            cursor.execute(COLUMN_TYPES, {"table": "participants", "columns": list(INSERT_FIELDS)})
            types = dict(cursor.fetchall())
            with cursor.copy(f"COPY participants ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([types[name] for name in INSERT_FIELDS])
                for row in values:
                    copy.write_row(row)
    else:
        marks = ", ".join("?" * len(INSERT_FIELDS))  # SQLite's paramstyle
        with small_sqlite_cache(connection):
            connection.exec_driver_sql(f"INSERT INTO participants ({columns}) VALUES ({marks})", list(values))
    return len(values)


class ParticipantRow(NamedTuple):
    """A participant as read: only a roster import changes one, so readers
    get the row itself, not an ORM object (building one cost a coverage
    check about 100 µs of CPU on PostgreSQL, more than the query's own)."""

    id: int
    nik_hash: str
    nik_masked: str
    birth_hash: str
    name: str
    gender: str
    village: str
    district: str
    category: str
    kpj: str | None
    phone: str | None
    cover_start: date
    cover_end: date
    created_at: datetime
    updated_at: datetime


PARTICIPANT_ROW = select(*(PARTICIPANTS.c[name] for name in ParticipantRow._fields))
# Every coverage check reads one (see storage/prepared.py for why prepared).
BY_NIK_HASH = Prepared(PARTICIPANT_ROW.where(PARTICIPANTS.c.nik_hash == bindparam("p_nik_hash")))
BY_ID = Prepared(PARTICIPANT_ROW.where(PARTICIPANTS.c.id == bindparam("p_id")))


def _read(found: NamedTuple | None) -> ParticipantRow | None:
    return None if found is None else ParticipantRow._make(found)


def find_participant(session: Session, *, nik_hash: str) -> ParticipantRow | None:
    return _read(BY_NIK_HASH.first(session.connection(), {"p_nik_hash": nik_hash}))


def participant_by_id(session: Session, participant_id: int) -> ParticipantRow | None:
    return _read(BY_ID.first(session.connection(), {"p_id": participant_id}))


def count_participants(session: Session) -> int:
    return session.connection().execute(select(func.count()).select_from(PARTICIPANTS)).scalar_one()


def counts_by(session: Session, *columns: str, districts: Collection[str] | None = None) -> list[tuple]:
    """Participants per value of the given columns, e.g. ('district', 'category'),
    of the given districts only when named."""
    keys = [PARTICIPANTS.c[name] for name in columns]
    statement = select(*keys, func.count()).group_by(*keys).order_by(*keys)
    if districts is not None:
        statement = statement.where(PARTICIPANTS.c.district.in_(list(districts)))
    return [tuple(row) for row in session.connection().execute(statement)]


def without_lookup_indexes(session: Session) -> None:
    """Before a whole roster goes into an empty table: loading the rows and
    building the indexes once after is several times faster than keeping
    three indexes (one on random hash keys) up to date row by row."""
    for index in PARTICIPANTS.indexes:
        index.drop(session.connection(), checkfirst=True)


@contextmanager
def small_sqlite_cache(connection: Connection) -> Iterator[None]:
    """SQLite's page cache at 16 MiB while the block runs, then the
    connection's own 64 MiB again (shrinking the cache frees its pages).

    A first import appends to a table without indexes and then builds them:
    a large cache holds appended pages nobody reads again, and an index
    build sorts its keys in memory up to the cache's size, on top of the
    cache. A million rows' import peaked at 334 MiB building the indexes
    with 64 MiB and 241 with 16, no slower; and at 249-274 MiB loading with
    64, 210-227 with 16."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql(f"PRAGMA cache_size=-{16 * 1024}")
    try:
        yield
    finally:
        connection.exec_driver_sql(SQLITE_PAGE_CACHE)


def with_lookup_indexes(session: Session) -> None:
    """The indexes lookups and NIK uniqueness need, built where missing: after
    a first import, or at start after one that was stopped halfway."""
    connection = session.connection()
    with small_sqlite_cache(connection):
        for index in PARTICIPANTS.indexes:
            index.create(connection, checkfirst=True)


def search_participants(
    session: Session,
    *,
    kpj: str | None = None,
    name: str | None = None,
    districts: Collection[str] | None,
    limit: int,
) -> list[ParticipantRow]:
    """People by KPJ number, or by a part of their name (any case), of the
    given districts only when named; by name, then id."""
    statement = PARTICIPANT_ROW
    if kpj is not None:
        statement = statement.where(PARTICIPANTS.c.kpj == kpj)
    if name is not None:
        statement = statement.where(func.lower(PARTICIPANTS.c.name).contains(name.lower(), autoescape=True))
    if districts is not None:
        statement = statement.where(PARTICIPANTS.c.district.in_(list(districts)))
    found = session.connection().execute(statement.order_by(PARTICIPANTS.c.name, PARTICIPANTS.c.id).limit(limit))
    return [ParticipantRow._make(row) for row in found]
