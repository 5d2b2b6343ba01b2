"""The outbox: planned messages (reminders, notices), claimed by one drainer
at a time, marked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, cast, func, literal, or_, select, update
from sqlmodel import Session

from storage.chats import STANDING, Addressee
from storage.db import PerDialect
from storage.media import Media
from storage.officers import officer_of_chat, reached
from storage.privacy import mask_niks
from storage.tables import CHATS, LINKS, OFFICERS, OUTBOX, PARTICIPANTS, SUBSCRIPTIONS

PLAN = PerDialect(
    lambda insert: (
        insert(OUTBOX).on_conflict_do_nothing(index_elements=["key"]).returning(OUTBOX.c.stage, OUTBOX.c.chat_pk)
    )
)

# The other states (sent, skipped, failed) are a Delivery's, marked as they come.
PLANNED, CLAIMED = "planned", "claimed"
REMINDER, NOTICE, DIGEST = "reminder", "notice", "digest"  # digest: a village officer's, per stage
ANSWER = "answer"  # an operator's answer from the console's Helpdesk, worded at send time
ANNOUNCEMENT = "announcement"  # operators' news to a segment (storage/announcements.py)
RENEWAL = "renewal"  # a person's cover extended by a new roster: told once per chat and period
RENEWAL_DIGEST = "renewal_digest"  # a village officer's: who was renewed, who was not (storage/renewal.py)
ABOUT_A_COVER = (REMINDER, RENEWAL)  # worded with the person's masked NIK; void once the cover end moves
FOLLOWED = (REMINDER, ANNOUNCEMENT, RENEWAL)  # only while the chat consents
NOTIFY = PerDialect(lambda insert: insert(OUTBOX).on_conflict_do_nothing(index_elements=["key"]))

# A consenting chat and the person it follows, for planning rows as INSERT ... SELECT.
FOLLOWING = SUBSCRIPTIONS.join(CHATS, CHATS.c.id == SUBSCRIPTIONS.c.chat_pk).join(
    PARTICIPANTS, PARTICIPANTS.c.id == SUBSCRIPTIONS.c.participant_id
)
FOLLOWS = and_(SUBSCRIPTIONS.c.active, CHATS.c.active)  # consent on, and the chat reachable
# The columns every planned row ends with, in this order (planned() gives their values).
PLANNED_COLUMNS = ["due_at", "stale_at", "state", "attempts", "created_at", "updated_at"]


def follower_key(kind: str, *tail) -> Any:
    """kind:chat:participant[:tail ...] in SQL: one row per follower and what it tells."""
    key = literal(f"{kind}:") + cast(SUBSCRIPTIONS.c.chat_pk, String)
    for part in (cast(SUBSCRIPTIONS.c.participant_id, String), *tail):
        key = key + literal(":") + part
    return key


def planned(due_at: Any, stale_at: Any, now: Any) -> list[Any]:
    """PLANNED_COLUMNS' values: due and stale then, planned, not tried yet, made now."""
    return [due_at, stale_at, literal(PLANNED), literal(0), now, now]


def planned_by_parameters() -> list[Any]:
    """planned() from a statement's own parameters: due_at, stale_at and now."""
    return planned(
        bindparam("due_at", type_=OUTBOX.c.due_at.type),
        bindparam("stale_at", type_=OUTBOX.c.stale_at.type),
        bindparam("now", type_=OUTBOX.c.created_at.type),
    )


def planning(insert, columns: list[str], chosen) -> Any:
    """An INSERT ... SELECT of planned rows, a key already there left alone,
    its rowcount the new rows (kept on PostgreSQL only when asked for)."""
    statement = insert(OUTBOX).from_select([*columns, *PLANNED_COLUMNS], chosen)
    return statement.on_conflict_do_nothing(index_elements=["key"]).execution_options(preserve_rowcount=True)


@dataclass(frozen=True)
class Subscriber:
    """A reachable chat and the cover period it hears about: a consenting
    chat and one participant's cover (a reminder), or a village officer's
    chat and a cover end some of their residents share (a digest)."""

    chat_pk: int
    channel: str
    participant_id: int | None
    cover_end: date
    kind: str = REMINDER


def followed_cover_ends(session: Session, *, chat_pk: int | None = None) -> list[tuple[str, date]]:
    """(channel, cover end) that consenting chats (or one chat) follow: the
    programme's period and few others, so each end's schedule is computed
    in Python and its rows are planned by the database."""
    statement = (
        select(CHATS.c.channel, PARTICIPANTS.c.cover_end)
        .distinct()
        .join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.chat_pk == CHATS.c.id)
        .join(PARTICIPANTS, PARTICIPANTS.c.id == SUBSCRIPTIONS.c.participant_id)
        .where(SUBSCRIPTIONS.c.active, CHATS.c.active)
    )
    if chat_pk is not None:
        statement = statement.where(SUBSCRIPTIONS.c.chat_pk == chat_pk)
    return [(channel, end) for channel, end in session.connection().execute(statement)]


def _plan_reminders_statement(insert, *, one_chat: bool):
    """One stage of one cover end for every consenting chat on one channel,
    as one INSERT ... SELECT: a million people are planned by the database,
    not row by row in Python. The key is plan_key's, in SQL."""
    key = follower_key(REMINDER, bindparam("cover_end_text", type_=String), bindparam("stage_text", type_=String))
    chosen = (
        select(
            key,
            literal(REMINDER),
            SUBSCRIPTIONS.c.chat_pk,
            SUBSCRIPTIONS.c.participant_id,
            PARTICIPANTS.c.cover_end,
            bindparam("stage", type_=Integer),
            *planned_by_parameters(),
        )
        .select_from(FOLLOWING)
        .where(
            FOLLOWS,
            CHATS.c.channel == bindparam("channel"),
            PARTICIPANTS.c.cover_end == bindparam("cover_end", type_=PARTICIPANTS.c.cover_end.type),
        )
    )
    if one_chat:
        chosen = chosen.where(SUBSCRIPTIONS.c.chat_pk == bindparam("chat_pk", type_=Integer))
    return planning(insert, ["key", "kind", "chat_pk", "participant_id", "cover_end", "stage"], chosen)


PLAN_REMINDERS = PerDialect(partial(_plan_reminders_statement, one_chat=False))
PLAN_CHAT_REMINDERS = PerDialect(partial(_plan_reminders_statement, one_chat=True))


def plan_reminders(
    session: Session,
    *,
    channel: str,
    cover_end: date,
    stage: int,
    due_at: datetime,
    stale_at: datetime,
    now: datetime,
    chat_pk: int | None = None,
) -> int:
    """Plan one stage of one cover end for every consenting chat on `channel`
    (or one chat); a key already planned is left alone. How many are new."""
    connection = session.connection()
    values = {
        "channel": channel,
        "cover_end": cover_end,
        "cover_end_text": str(cover_end),
        "stage": stage,
        "stage_text": str(stage),
        "due_at": due_at,
        "stale_at": stale_at,
        "now": now,
    }
    if chat_pk is None:
        return connection.execute(PLAN_REMINDERS[connection.dialect.name], values).rowcount
    return connection.execute(PLAN_CHAT_REMINDERS[connection.dialect.name], {**values, "chat_pk": chat_pk}).rowcount


def digest_subscribers(session: Session) -> list[Subscriber]:
    """Each linked officer's chat with each cover end among their village's residents."""
    statement = (
        select(LINKS.c.chat_pk, CHATS.c.channel, PARTICIPANTS.c.cover_end)
        .distinct()
        .join(CHATS, CHATS.c.id == LINKS.c.chat_pk)
        .join(OFFICERS, OFFICERS.c.id == LINKS.c.officer_id)
        .join(
            PARTICIPANTS,
            and_(PARTICIPANTS.c.village == OFFICERS.c.village, PARTICIPANTS.c.district == OFFICERS.c.district),
        )
        .where(STANDING, CHATS.c.active)
    )
    return [
        Subscriber(chat_pk, channel, None, end, DIGEST)
        for chat_pk, channel, end in session.connection().execute(statement)
    ]


@dataclass(frozen=True)
class Digest:
    village: str
    ending: int  # residents whose cover ends on that day
    not_opted_in: int  # of them, how many no chat is reminding


def digests(session: Session, *, rows: Iterable[tuple[int, int, date]]) -> dict[int, Digest]:
    """For (outbox id, officer chat, cover end) rows, the digest as it stands
    now; a row whose chat is no longer linked to an officer has none."""
    found = {}
    connection = session.connection()
    for outbox_id, chat_pk, cover_end in rows:
        officer = officer_of_chat(session, chat_pk=chat_pk)
        if officer is None:
            continue
        ending = (
            PARTICIPANTS.c.village == officer.village,
            PARTICIPANTS.c.district == officer.district,
            PARTICIPANTS.c.cover_end == cover_end,
        )
        total, reminded = reached(connection, *ending)
        found[outbox_id] = Digest(officer.village, total, total - reminded)
    return found


def plan(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Insert planned rows; a key already planned is left alone. Returns
    (stage, chat_pk) of each new row."""
    if not rows:
        return []
    connection = session.connection()
    return [(stage, chat_pk) for stage, chat_pk in connection.execute(PLAN[connection.dialect.name], rows)]


def notify(
    session: Session,
    *,
    key: str,
    chat_pk: int,
    body: str,
    now: datetime,
    attachments: Iterable[Media] = (),
    kind: str = NOTICE,
) -> None:
    """A notice (or an operator's answer) to send as soon as a drainer runs,
    in the caller's transaction, so it exists exactly when what it tells of
    does; a key already there is left alone. A NIK someone typed into a
    story or a note goes out masked."""
    row = {
        "key": key,
        "kind": kind,
        "chat_pk": chat_pk,
        "body": mask_niks(body),
        "attachments": [item.as_json() for item in attachments] or None,
        "due_at": now,
        "state": PLANNED,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    connection = session.connection()
    connection.execute(NOTIFY[connection.dialect.name], row)


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    chat_pk: int
    channel: str
    chat_id: str
    language: str
    chat_active: bool
    chat_last_inbound_at: datetime | None
    participant_id: int | None
    cover_end: date | None
    stage: int | None
    stale_at: datetime | None
    body: str | None
    attachments: tuple[Media, ...]
    attempts: int

    @property
    def addressee(self) -> Addressee:
        """Its chat as claimed: a batch goes out within seconds of its claim."""
        return Addressee(self.language, self.chat_active, self.chat_last_inbound_at)


def claim_due(
    session: Session,
    *,
    now: datetime,
    worker: str,
    lease: timedelta,
    limit: int,
    channels: list[str],
    kinds: Iterable[str] = (REMINDER, NOTICE),
) -> list[Claimed]:
    """Due rows of `kinds` nobody holds (planned, including retries, or claimed
    under a lease that ran out) for chats on `channels`, leased to `worker`. On
    PostgreSQL, rows another drainer has locked are skipped; SQLite's write
    lock already makes this transaction the only drainer."""
    due = or_(
        and_(OUTBOX.c.state == PLANNED, OUTBOX.c.due_at <= now),
        and_(OUTBOX.c.state == CLAIMED, OUTBOX.c.claimed_until < now),
    )
    ids = [
        row.id
        for row in session.connection().execute(
            select(OUTBOX.c.id)
            .where(
                due,
                OUTBOX.c.kind.in_(list(kinds)),
                OUTBOX.c.chat_pk.in_(select(CHATS.c.id).where(CHATS.c.channel.in_(channels))),
            )
            .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ]
    if not ids:
        return []
    session.connection().execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids))
        .values(
            state=CLAIMED, claimed_until=now + lease, claimed_by=worker, attempts=OUTBOX.c.attempts + 1, updated_at=now
        )
    )
    statement = (
        select(
            OUTBOX.c.id,
            OUTBOX.c.kind,
            OUTBOX.c.chat_pk,
            CHATS.c.channel,
            CHATS.c.chat_id,
            CHATS.c.language,
            CHATS.c.active,
            CHATS.c.last_inbound_at,
            OUTBOX.c.participant_id,
            OUTBOX.c.cover_end,
            OUTBOX.c.stage,
            OUTBOX.c.stale_at,
            OUTBOX.c.body,
            OUTBOX.c.attachments,
            OUTBOX.c.attempts,
        )
        .join(CHATS, CHATS.c.id == OUTBOX.c.chat_pk)
        .where(OUTBOX.c.id.in_(ids))
        .order_by(OUTBOX.c.id)
    )
    return [
        Claimed(*row[:-2], tuple(Media.from_json(item) for item in row.attachments or ()), row.attempts)
        for row in session.connection().execute(statement)
    ]


def mark(
    session: Session,
    *,
    outbox_id: int,
    worker: str,
    state: str,
    now: datetime,
    platform_message_id: str | None = None,
    detail: str | None = None,
    retry_at: datetime | None = None,
    counted: bool = True,
) -> bool:
    """Record what became of a claimed row. False when the lease was lost
    (another drainer took the row over), so nothing is overwritten. A claim
    that was no attempt (`counted` false: it waits for something else) is
    not counted among the row's attempts."""
    values: dict[str, Any] = {
        "state": state,
        "updated_at": now,
        "claimed_until": None,
        "platform_message_id": platform_message_id,
        "detail": detail and detail[:500],
    }
    if retry_at is not None:
        values["due_at"] = retry_at
    if not counted:
        values["attempts"] = OUTBOX.c.attempts - 1
    result = session.connection().execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == outbox_id, OUTBOX.c.claimed_by == worker, OUTBOX.c.state == CLAIMED)
        .values(**values)
    )
    return result.rowcount > 0


def counts(session: Session) -> list[tuple[int, str, int]]:
    """(stage, state, rows) of reminders and digests, for `reminders status`."""
    statement = (
        select(OUTBOX.c.stage, OUTBOX.c.state, func.count())
        .where(OUTBOX.c.kind.in_((REMINDER, DIGEST)))
        .group_by(OUTBOX.c.stage, OUTBOX.c.state)
    )
    return sorted((stage, state, n) for stage, state, n in session.connection().execute(statement))


def renewal_counts(session: Session) -> list[tuple[str, str, int]]:
    """(kind, state, rows) of the renewal news and officers' renewal digests."""
    statement = (
        select(OUTBOX.c.kind, OUTBOX.c.state, func.count())
        .where(OUTBOX.c.kind.in_((RENEWAL, RENEWAL_DIGEST)))
        .group_by(OUTBOX.c.kind, OUTBOX.c.state)
    )
    return sorted(tuple(row) for row in session.connection().execute(statement))


def next_due(session: Session, *, chat_pks: Iterable[int] | None = None) -> datetime | None:
    """When the next reminder is due (for these chats)."""
    statement = select(func.min(OUTBOX.c.due_at)).where(OUTBOX.c.state == PLANNED, OUTBOX.c.kind == REMINDER)
    if chat_pks is not None:
        statement = statement.where(OUTBOX.c.chat_pk.in_(list(chat_pks)))
    return session.connection().execute(statement).scalar()


def niks_and_ends(session: Session, *, participant_ids: set[int]) -> dict[int, tuple[str, date]]:
    """Each participant's masked NIK and current cover end, as the drainer checks them."""
    if not participant_ids:
        return {}
    statement = select(PARTICIPANTS.c.id, PARTICIPANTS.c.nik_masked, PARTICIPANTS.c.cover_end).where(
        PARTICIPANTS.c.id.in_(participant_ids)
    )
    return {pid: (name, end) for pid, name, end in session.connection().execute(statement)}


def consenting(session: Session, *, chat_pks: set[int]) -> set[tuple[int, int]]:
    """(chat, participant) pairs whose consent is on now."""
    if not chat_pks:
        return set()
    statement = select(SUBSCRIPTIONS.c.chat_pk, SUBSCRIPTIONS.c.participant_id).where(
        SUBSCRIPTIONS.c.chat_pk.in_(chat_pks), SUBSCRIPTIONS.c.active
    )
    return {(chat_pk, participant_id) for chat_pk, participant_id in session.connection().execute(statement)}


def reach_by_stage(session: Session, *, districts: Iterable[str] | None) -> list[tuple[int, str, str | None, int]]:
    """Reminders per stage and state, with why those skipped were, counted;
    about people of `districts` only when named."""
    why = case((OUTBOX.c.state == "skipped", OUTBOX.c.detail), else_=None)  # a failure's detail is its own
    columns = (OUTBOX.c.stage, OUTBOX.c.state, why)
    statement = select(*columns, func.count()).where(OUTBOX.c.kind == REMINDER)
    if districts is not None:
        statement = statement.join(PARTICIPANTS, PARTICIPANTS.c.id == OUTBOX.c.participant_id).where(
            PARTICIPANTS.c.district.in_(list(districts))
        )
    rows = session.connection().execute(statement.group_by(*columns).order_by(OUTBOX.c.stage.desc(), OUTBOX.c.state))
    return [tuple(row) for row in rows]
