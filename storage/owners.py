"""Chats proven to be a participant's own (OwnerProof): the proof holds
while the roster keeps the phone it was made with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, exists, select
from sqlmodel import Session

from storage.chats import OpenChat
from storage.db import PerDialect
from storage.participants import PARTICIPANT_ROW, ParticipantRow
from storage.prepared import Prepared
from storage.tables import OWNERS, PARTICIPANTS

PROVE = PerDialect(
    lambda insert: insert(OWNERS).on_conflict_do_update(
        index_elements=["chat_pk", "participant_id"],
        set_={"phone": insert(OWNERS).excluded.phone, "proven_at": insert(OWNERS).excluded.proven_at},
    )
)


def record_owner(session: Session, *, chat: OpenChat, participant: ParticipantRow, now: datetime) -> None:
    """This chat proved to be `participant`'s own, with the roster's phone of now."""
    connection = session.connection()
    row = {"chat_pk": chat.id, "participant_id": participant.id, "phone": participant.phone, "proven_at": now}
    connection.execute(PROVE[connection.dialect.name], row)


def owned(session: Session, *, chat: OpenChat) -> set[int]:
    """The participants this chat is proven to be, whose roster phone is still the one proven."""
    return owned_by_chat(session, chat.id)


# A proof holds while the roster keeps the phone it was made with.
PROOF_HOLDS = and_(PARTICIPANTS.c.id == OWNERS.c.participant_id, PARTICIPANTS.c.phone == OWNERS.c.phone)
OWNED_BY_CHAT = Prepared(
    select(OWNERS.c.participant_id).join(PARTICIPANTS, PROOF_HOLDS).where(OWNERS.c.chat_pk == bindparam("p_chat_pk"))
)
# Every identity check reads its person and whether the chat is already
# proven theirs, in one statement: a round trip less on PostgreSQL (see
# storage/prepared.py for why it is prepared).
BY_NIK_HASH_FOR_CHAT = Prepared(
    PARTICIPANT_ROW.add_columns(
        exists().where(OWNERS.c.chat_pk == bindparam("p_chat_pk"), PROOF_HOLDS).label("proven")
    ).where(PARTICIPANTS.c.nik_hash == bindparam("p_nik_hash"))
)


def find_participant_for_chat(session: Session, *, nik_hash: str, chat: OpenChat) -> tuple[ParticipantRow | None, bool]:
    """The participant with this NIK hash, if any, and whether `chat` is
    proven theirs (as `owned` would say)."""
    found = BY_NIK_HASH_FOR_CHAT.first(session.connection(), {"p_nik_hash": nik_hash, "p_chat_pk": chat.id})
    if found is None:
        return None, False
    return ParticipantRow._make(found[:-1]), found.proven


def owned_by_chat(session: Session, chat_pk: int) -> set[int]:
    return {row.participant_id for row in OWNED_BY_CHAT.rows(session.connection(), {"p_chat_pk": chat_pk})}
