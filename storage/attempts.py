"""The audit table: every identity check and every disclosure, with the
proof the chat had; the lockouts count its failures per chat and per NIK."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import String, bindparam, func, insert, or_, select, text
from sqlmodel import Session

from storage.chats import OpenChat
from storage.prepared import Prepared
from storage.tables import ATTEMPTS, CHATS, PARTICIPANTS

FOUND = "found"
NOT_FOUND = "not_found"
REFUSED = "refused"
SHOWN = "shown"  # a disclosure: what was shown, to whom

# Levels of proof, weakest first.
KTP = "ktp"  # NIK + birth date: what a KTP photocopy carries
OWNER = "owner"  # the chat's verified number is the roster's phone
OFFICER = "officer"  # a linked village officer, for their own village
REPORTER = "reporter"  # the chat that filed the report

# They run on every identity check (see storage/prepared.py for why).
RECORD = Prepared(insert(ATTEMPTS))
FAILURES_SINCE = Prepared(
    select(ATTEMPTS.c.at)
    .where(
        ATTEMPTS.c.chat_pk == bindparam("p_chat_pk"),
        ATTEMPTS.c.outcome == NOT_FOUND,
        ATTEMPTS.c.at > bindparam("p_since"),
    )
    .order_by(ATTEMPTS.c.at)
)
NIK_FAILURES_SINCE = Prepared(
    select(func.count())
    .select_from(ATTEMPTS)
    .where(
        ATTEMPTS.c.nik_hash == bindparam("p_nik_hash"),
        ATTEMPTS.c.outcome == NOT_FOUND,
        ATTEMPTS.c.at > bindparam("p_since"),
    )
)


# PostgreSQL's advisory locks share one key space: NIKs take the pairs (NIK_LOCKS, hash).
NIK_LOCKS = 1_603  # Muara Enim's regency code
HOLD_NIK = Prepared(select(func.pg_advisory_xact_lock(NIK_LOCKS, func.hashtext(bindparam("p_nik_hash", type_=String)))))


def record_attempt(
    session: Session,
    *,
    chat: OpenChat,
    purpose: str,
    outcome: str,
    now: datetime,
    participant_id: int | None = None,
    nik_hash: str | None = None,
    proof: str | None = None,
    officer_id: int | None = None,
) -> None:
    row = {
        "chat_pk": chat.id,
        "purpose": purpose,
        "outcome": outcome,
        "participant_id": participant_id,
        "nik_hash": nik_hash,
        "proof": proof,
        "officer_id": officer_id,
        "at": now,
    }
    RECORD.rows(session.connection(), row)


def failures_since(session: Session, *, chat: OpenChat, since: datetime) -> list[datetime]:
    """Times of failed checks from this chat after `since`, oldest first."""
    return [row.at for row in FAILURES_SINCE.rows(session.connection(), {"p_chat_pk": chat.id, "p_since": since})]


def nik_failures_since(session: Session, *, nik_hash: str, since: datetime) -> int:
    """Failed checks of this NIK after `since`, from any chat on any channel.
    The NIK is held until the transaction ends, so that the count and the
    check's outcome are one step: twenty wrong dates arriving together from
    twenty chats (in several threads or processes, on PostgreSQL) fail only
    the NIK's limit, and the rest are refused. SQLite's writers take turns anyway."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        HOLD_NIK.rows(connection, {"p_nik_hash": nik_hash})
    [(count,)] = NIK_FAILURES_SINCE.rows(connection, {"p_nik_hash": nik_hash, "p_since": since})
    return count


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    channel: str
    chat_id: str
    purpose: str
    proof: str | None
    outcome: str
    participant_id: int | None
    officer_id: int | None


def audit_rows(
    session: Session, *, participant_id: int | None = None, nik_hash: str | None = None, since: datetime | None = None
) -> list[AuditRow]:
    """The audit trail, oldest first: about one person (their participant
    row, or checks of their NIK that matched nobody) and from a moment on."""
    statement = select(
        ATTEMPTS.c.at,
        CHATS.c.channel,
        CHATS.c.chat_id,
        ATTEMPTS.c.purpose,
        ATTEMPTS.c.proof,
        ATTEMPTS.c.outcome,
        ATTEMPTS.c.participant_id,
        ATTEMPTS.c.officer_id,
    ).join(CHATS, CHATS.c.id == ATTEMPTS.c.chat_pk)
    if participant_id is not None or nik_hash is not None:
        about = []
        if participant_id is not None:
            about.append(ATTEMPTS.c.participant_id == participant_id)
        if nik_hash is not None:
            about.append(ATTEMPTS.c.nik_hash == nik_hash)
        statement = statement.where(or_(*about))
    if since is not None:
        statement = statement.where(ATTEMPTS.c.at >= since)
    rows = session.connection().execute(statement.order_by(ATTEMPTS.c.at, ATTEMPTS.c.id))
    return [AuditRow(*row) for row in rows]


CHECK = "coverage_check"


def checks_per_day(
    session: Session, *, since: datetime, utc_offset_hours: int, districts: Collection[str] | None
) -> list[tuple[date, int]]:
    """Coverage checks per local day from `since` on (the zone is a fixed
    offset: Indonesia keeps no summer time); of people in `districts` only
    when named (a check that matched nobody has no district)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        day = func.date(ATTEMPTS.c.at, f"{utc_offset_hours:+d} hours")
    else:
        day = func.date(ATTEMPTS.c.at + text(f"interval '{int(utc_offset_hours)} hours'"))
    statement = select(day, func.count()).where(ATTEMPTS.c.purpose == CHECK, ATTEMPTS.c.at >= since)
    if districts is not None:
        statement = statement.join(PARTICIPANTS, PARTICIPANTS.c.id == ATTEMPTS.c.participant_id).where(
            PARTICIPANTS.c.district.in_(list(districts))
        )
    rows = connection.execute(statement.group_by(day).order_by(day))
    return [(value if isinstance(value, date) else date.fromisoformat(value), count) for value, count in rows]
