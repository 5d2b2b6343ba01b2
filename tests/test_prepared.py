"""The statements every message runs skip SQLAlchemy's execution path
(storage/prepared.py); what they write and read must be exactly what Core's
execution would, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError

from storage.chats import ARRIVED, TOUCH_CHAT, open_chat, save_state, state_row
from storage.db import Database
from storage.prepared import Prepared
from storage.processed import claim_message
from storage.tables import CHATS, PENDING, REPLIES, SESSIONS
from tests.conftest import FROZEN_NOW

DATA = {"nama": "Siti Aisyah", "catatan": "jatuh dari pohon sawit 🌴", "angka": [1, 2.5, None], "ya": True}


def fresh(database_url: str) -> Database:
    db = Database(database_url)
    db.upgrade()
    return db


def test_what_it_writes_and_reads_is_what_core_writes_and_reads(database_url):
    db = fresh(database_url)
    later = FROZEN_NOW + timedelta(minutes=30, microseconds=123456)
    try:
        with db.transaction() as session:
            chat, _ = open_chat(session, channel="telegram", chat_id="7", language="id", now=FROZEN_NOW)
            state = state_row(
                chat=chat,
                flow="incident",
                step="ask_place",
                data=DATA,
                choices=[["1", "Ya"], ["2", "Tidak"]],
                now=FROZEN_NOW,
                expires_at=later,
            )
            save_state(session, state)
        with db.transaction() as session:
            connection = session.connection()
            saved = connection.execute(select(SESSIONS).where(SESSIONS.c.chat_pk == chat.id)).one()
            assert (saved.flow, saved.step, saved.data, saved.choices) == (
                "incident",
                "ask_place",
                DATA,
                [["1", "Ya"], ["2", "Tidak"]],
            )
            assert saved.expires_at == later and saved.expires_at.utcoffset() == timedelta(0)
            parameters = {"p_chat_pk": chat.id}
            assert tuple(ARRIVED.first(connection, parameters)) == tuple(
                connection.execute(ARRIVED.statement, parameters).one()
            )
            touch = {"p_channel": "telegram", "p_chat_id": "7", "p_now": later}
            assert tuple(TOUCH_CHAT.first(connection, touch)) == tuple(
                connection.execute(TOUCH_CHAT.statement, touch).one()
            )
            assert connection.execute(select(CHATS.c.last_inbound_at, CHATS.c.active)).one() == (later, True)
    finally:
        db.dispose()


def test_its_errors_are_sqlalchemys_and_its_writes_roll_back_with_the_transaction(database_url):
    db = fresh(database_url)
    hold = Prepared(insert(REPLIES).returning(REPLIES.c.id))
    try:
        with pytest.raises(IntegrityError), db.transaction() as session:
            assert claim_message(session, channel="telegram", message_id="m1", now=FROZEN_NOW)
            hold.rows(session.connection(), {"channel": None, "chat_id": "7", "body": {}, "due_at": FROZEN_NOW})
        with db.transaction() as session:  # the claim went with the failed transaction
            assert claim_message(session, channel="telegram", message_id="m1", now=FROZEN_NOW)
    finally:
        db.dispose()


def test_listeners_see_its_statements(database_url):
    db = fresh(database_url)
    seen: list[str] = []
    event.listen(db.engine, "after_cursor_execute", lambda *args: seen.append(args[2]))
    try:
        with db.transaction() as session:
            claim_message(session, channel="whatsapp", message_id="m2", now=FROZEN_NOW)
        assert any(statement.startswith("INSERT INTO processed_messages") for statement in seen), seen
    finally:
        db.dispose()


def test_a_columns_constant_default_is_written_as_core_writes_it(database_url):
    db = fresh(database_url)
    store = Prepared(insert(PENDING).returning(PENDING.c.attempts, PENDING.c.payload))
    row = {"channel": "whatsapp", "message_id": "wamid.1", "payload": DATA, "received_at": FROZEN_NOW}
    try:
        with db.transaction() as session:
            assert tuple(store.first(session.connection(), row)) == (0, DATA)
    finally:
        db.dispose()


def test_a_statement_whose_values_it_cannot_all_give_is_refused(database_url):
    db = fresh(database_url)
    expanding = Prepared(select(CHATS.c.id).where(CHATS.c.chat_id.in_(bindparam("ids", expanding=True))))
    defaulted = Prepared(insert(SESSIONS))  # data and choices default to {} and [] in Python
    try:
        with db.transaction() as session:
            with pytest.raises(ValueError, match="not for a prepared statement"):
                expanding.rows(session.connection(), {"ids": ["1", "2"]})
            with pytest.raises(ValueError, match="not for a prepared statement"):
                defaulted.rows(
                    session.connection(),
                    {"chat_pk": 1, "flow": "menu", "step": "home", "expires_at": FROZEN_NOW, "updated_at": FROZEN_NOW},
                )
    finally:
        db.dispose()
