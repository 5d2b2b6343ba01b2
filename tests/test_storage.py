"""Storage on SQLite and on PostgreSQL (TEST_DATABASE_URL): the schema the
migrations build, and the query functions the flows rely on."""

from __future__ import annotations

import asyncio
import pickle
import sqlite3
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, select

from bot.app import build_app
from handlers.messages import Inbound
from storage import attempts, helpdesk, officers, replies
from storage.chats import OpenChat, arrive, mark_unreachable, open_chat, save_state, set_language, state_row
from storage.db import Database, DatabaseUnavailable, driver_url, migration_config, newest_revision
from storage.idle_ping import RESTED_SECONDS
from storage.models import Chat, ReminderSubscription
from storage.participants import (
    count_participants,
    counts_by,
    find_participant,
    upsert_participants,
)
from storage.privacy import IdentityHasher, mask_kpj, mask_name, mask_nik
from storage.processed import claim_message, prune_processed
from storage.subscriptions import set_consent, subscribe
from tests.conftest import FROZEN_NOW, make_settings
from tests.transcript import Chat as Conversation

HASHER = IdentityHasher(b"k" * 32)


def participant_row(nik: str = "1603010503800001", **changes) -> dict:
    nik_hash = HASHER.nik_hash(nik)
    row = {
        "nik_hash": nik_hash,
        "nik_masked": mask_nik(nik),
        "birth_hash": HASHER.birth_hash(nik_hash, date(1980, 3, 5)),
        "name": "Budi Santoso",
        "gender": "L",
        "village": "Talang Demo",
        "district": "Lubai",
        "category": "perangkat_desa",
        "kpj": "12345678901",
        "phone": "+6281234567890",
        "cover_start": date(2026, 10, 1),
        "cover_end": date(2026, 12, 31),
    }
    row.update(changes)
    return row


def get_chat(
    session, *, channel: str = "console", chat_id: str = "1", now=FROZEN_NOW, language: str = "id"
) -> OpenChat:
    return open_chat(session, channel=channel, chat_id=chat_id, language=language, now=now)[0]


def state_of(session, chat: OpenChat):
    return open_chat(session, channel=chat.channel, chat_id=chat.chat_id, language="id", now=FROZEN_NOW)[1]


def fresh(database_url: str) -> Database:
    db = Database(database_url)
    db.upgrade()
    return db


def test_migration_files_are_named_for_their_revisions_and_a_database_at_head_is_left_alone(tmp_path):
    from alembic.script import ScriptDirectory

    from storage.db import MIGRATIONS

    scripts = ScriptDirectory(str(MIGRATIONS))
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path
    assert newest_revision() == scripts.get_current_head()
    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert db.revision() is None
    db.upgrade()
    assert db.revision() == newest_revision()
    db.upgrade()  # at head: nothing to do
    db.dispose()


def migrated(database_url: str) -> Database:
    """A database the first release made, brought up by the migrations."""
    from alembic import command

    db = Database(database_url)
    with db.engine.begin() as connection:
        command.upgrade(migration_config(connection), "0001")
    db.upgrade()
    return db


def test_migrations_build_exactly_the_models_schema(database_url):
    """A new database is made from the models at once; one an older Payung
    made is brought up by the migrations, which must end at the same schema."""
    db = migrated(database_url)
    assert db.revision() == newest_revision()
    db.upgrade()  # a second upgrade is a no-op
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    db.dispose()


@pytest.mark.parametrize("made", ["new", "migrated"])
def test_a_forgotten_reply_s_id_is_never_given_to_a_later_one(database_url, made):
    """A process knows the replies it holds by id, and forgets one only after
    its DELETE has committed: were the id handed to a new reply in between
    (SQLite reuses the highest rowid once it is deleted), the new reply
    would be forgotten with the old one, counted out of the process's hand
    and taken up by another process while still queued here. (Comparing
    schemas does not see SQLite's AUTOINCREMENT, so both ways are tried.)"""
    db = fresh(database_url) if made == "new" else migrated(database_url)
    with db.transaction() as session:
        [first] = replies.hold(session, channel="telegram", chat_id="1", bodies=[{"text": "a"}], due_at=FROZEN_NOW)
    with db.transaction() as session:
        replies.forget(session, [first])
    with db.transaction() as session:
        [second] = replies.hold(session, channel="telegram", chat_id="2", bodies=[{"text": "b"}], due_at=FROZEN_NOW)
    db.dispose()
    assert second != first


def test_sqlite_s_log_is_copied_back_beside_the_commits_not_inside_them(sqlite_url):
    """A commit never stops to copy the write-ahead log into the database
    (that stalled every chat behind it); a thread does it, so the log
    stays a few commits long however much is written."""
    db = Database(sqlite_url)
    db.checkpoints.every = 0.0  # a checkpoint after every commit, when none is running
    written = 0
    try:
        with db.transaction() as session:
            session.connection().exec_driver_sql("CREATE TABLE filler (text TEXT)")
            assert session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        for _ in range(200):
            with db.transaction() as session:
                session.connection().exec_driver_sql("INSERT INTO filler VALUES (?)", ("x" * 50_000,))
            written += 50_000
            db.checkpoints.wait()
        log = Path(sqlite_url.removeprefix("sqlite:///") + "-wal").stat().st_size
        assert log < written / 10, (log, written)
    finally:
        db.dispose()


def test_sqlite_s_log_starts_again_under_a_steady_stream_of_commits(sqlite_url):
    """Commits that never pause for the copy (a burst, a reminder stage)
    still get their log started again from the top once it passes its
    limit: without that it grew for as long as the stream lasted (1 GiB
    after 30,000 messages, and slower with every page)."""
    db = Database(sqlite_url)
    db.checkpoints.every = 0.0
    db.checkpoints.log_limit = 2 << 20
    log = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    longest = written = 0
    starts = set()
    try:
        with db.transaction() as session:
            session.connection().exec_driver_sql("CREATE TABLE filler (text TEXT)")
        while written < 80 << 20:
            with db.transaction() as session:  # no wait for the checkpoint thread
                session.connection().exec_driver_sql("INSERT INTO filler VALUES (?)", ("x" * 20_000,))
            written += 20_000
            longest = max(longest, log.stat().st_size)
            with log.open("rb") as header:
                starts.add(header.read(16)[12:16])  # the log's checkpoint sequence: one more at each start
        # Never started again, the log holds all that was written (more, with
        # its frames' headers) and its sequence never moves. Started again, it
        # holds the limit and what came during the slowest copy: 3-6 MiB alone,
        # 18-31 MiB in the loaded suite, so the count of starts is what tells.
        assert len(starts) > 3, starts
        assert longest < written / 2, (longest, written)
    finally:
        db.dispose()


def test_a_reader_elsewhere_holds_a_commit_up_for_a_moment_at_most(sqlite_url):
    """Starting the log again waits for every reader of the old one; one in
    another process (an export) would hold the committing chat for the
    connection's whole busy timeout (30 s), so the wait is a short one and the
    log is started again on a later commit."""
    db = Database(sqlite_url)
    db.checkpoints.every = 0.0
    db.checkpoints.log_limit = 64 << 10
    with db.transaction() as session:
        session.connection().exec_driver_sql("CREATE TABLE filler (text TEXT)")
    reader = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM filler").fetchall()  # its snapshot holds the log
    slowest = 0.0
    try:
        for _ in range(20):
            started = time.perf_counter()
            with db.transaction() as session:
                session.connection().exec_driver_sql("INSERT INTO filler VALUES (?)", ("x" * 20_000,))
            slowest = max(slowest, time.perf_counter() - started)
            db.checkpoints.wait()
    finally:
        reader.close()
        db.dispose()
    assert slowest < 5.0, slowest  # the usual wait would be 30 s; a loaded suite slows the rest


def test_plain_urls_get_payungs_drivers():
    assert driver_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert driver_url("postgres://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert driver_url("sqlite:///x.db") == "sqlite:///x.db"


def test_upsert_inserts_updates_and_leaves_identical_rows_alone(database_url):
    db = fresh(database_url)
    with db.transaction() as session:
        first = upsert_participants(session, [participant_row(), participant_row("1603010503800002")], now=FROZEN_NOW)
    with db.transaction() as session:
        again = upsert_participants(
            session,
            [participant_row(), participant_row("1603010503800002", cover_end=date(2027, 3, 31))],
            now=FROZEN_NOW + timedelta(days=1),
        )
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 1)
    with db.transaction() as session:
        unchanged = find_participant(session, nik_hash=HASHER.nik_hash("1603010503800001"))
        moved = find_participant(session, nik_hash=HASHER.nik_hash("1603010503800002"))
        assert unchanged.updated_at == FROZEN_NOW
        assert (moved.cover_end, moved.updated_at) == (date(2027, 3, 31), FROZEN_NOW + timedelta(days=1))
        assert count_participants(session) == 2
        assert counts_by(session, "district", "category") == [("Lubai", "perangkat_desa", 2)]
        assert find_participant(session, nik_hash=HASHER.nik_hash("1603010503800003")) is None
    db.dispose()


def test_times_come_back_as_the_same_instant_in_utc(database_url):
    db = fresh(database_url)
    jakarta = timezone(timedelta(hours=7))
    with db.transaction() as session:
        chat = get_chat(session, now=datetime(2026, 11, 27, 10, 0, tzinfo=jakarta))
    with db.transaction() as session:
        again = session.get(Chat, chat.id)
        assert again.created_at == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
        assert again.created_at.tzinfo is UTC
    db.dispose()


def test_a_chat_opens_knowing_of_its_own_officer_link_and_held_answers_only(database_url):
    # Every message asks both; another chat's link or held answer must not send it reading for its own.
    db = fresh(database_url)
    with db.transaction() as session:
        mine, theirs = get_chat(session, chat_id="1"), get_chat(session, chat_id="2")
        thread, _ = helpdesk.open_thread(session, chat_pk=theirs.id, now=FROZEN_NOW)
        helpdesk.add_message(
            session, thread_id=thread, author="operator", text="Sudah kami cek.", now=FROZEN_NOW, awaiting_person=True
        )
        row = participant_row()
        officer = {key: row[key] for key in ("nik_hash", "nik_masked", "birth_hash", "name", "village", "district")}
        officers.upsert_officers(
            session, [{**officer, "position": "Kepala Desa", "phone": row["phone"]}], now=FROZEN_NOW
        )
        officers.link(
            session, officer_id=officers.find_officer(session, nik_hash=row["nik_hash"]).id, chat=theirs, now=FROZEN_NOW
        )
    with db.transaction() as session:
        mine, theirs = get_chat(session, chat_id="1"), get_chat(session, chat_id="2")
        assert (mine.linked, mine.answers_held) == (False, False)
        assert (theirs.linked, theirs.answers_held) == (True, True)
        assert officers.linked_officer(session, chat=mine) is None
        assert officers.linked_officer(session, chat=theirs).name == "Budi Santoso"
        assert [message.text for message in helpdesk.held_answers(session, chat=theirs)] == ["Sudah kami cek."]
        assert not get_chat(session, chat_id="2").answers_held  # given once


def test_chat_state_and_consent(database_url):
    db = fresh(database_url)
    with db.transaction() as session:
        upsert_participants(session, [participant_row()], now=FROZEN_NOW)
        chat = get_chat(session, channel="telegram", chat_id="42")
        assert get_chat(session, channel="telegram", chat_id="42", language="en").id == chat.id
        assert get_chat(session, channel="whatsapp", chat_id="42").id != chat.id
        assert state_of(session, chat) is None
        state = state_row(
            chat=chat,
            flow="coverage",
            step="got_nik",
            data={"a": [1, 2]},
            choices=[["yes", "Ya"]],
            now=FROZEN_NOW,
            expires_at=FROZEN_NOW + timedelta(minutes=30),
        )
        save_state(session, state)
        participant_id = find_participant(session, nik_hash=participant_row()["nik_hash"]).id
        subscribe(session, chat=chat, participant_id=participant_id, now=FROZEN_NOW)
        subscribe(session, chat=chat, participant_id=participant_id, now=FROZEN_NOW)
    with db.transaction() as session:
        state = state_of(session, chat)
        assert (state.flow, state.step, state.data, state.choices) == (
            "coverage",
            "got_nik",
            {"a": [1, 2]},
            [["yes", "Ya"]],
        )
        menu = state_row(
            chat=chat, flow="menu", step="chose", data={}, choices=[], now=FROZEN_NOW, expires_at=FROZEN_NOW
        )
        save_state(session, menu)
        assert len(session.exec(select(ReminderSubscription)).all()) == 1
        assert set_consent(session, chat=chat, active=False) == 1
        assert set_consent(session, chat=chat, active=False) == 0
    with db.transaction() as session:
        assert state_of(session, chat).flow == "menu"
    db.dispose()


def test_a_message_opens_its_chat_and_a_redelivery_changes_nothing(database_url):
    # On PostgreSQL the key's claim and the chat's UPDATE are one statement.
    db = fresh(database_url)
    later = FROZEN_NOW + timedelta(minutes=5)

    def arrived(message_id: str, now: datetime):
        with db.transaction() as session:
            return arrive(session, channel="telegram", chat_id="42", message_id=message_id, language="id", now=now)

    def chat_row():
        with db.transaction() as session:
            return session.exec(select(Chat.active, Chat.last_inbound_at, Chat.language)).one()

    try:
        chat, state = arrived("m1", FROZEN_NOW)
        assert state is None and chat_row() == (True, FROZEN_NOW, "id")
        with db.transaction() as session:
            mark_unreachable(session, channel="telegram", chat_id="42")
            set_language(session, chat=chat, language="en")
        assert arrived("m1", later) is None  # the redelivery: the chat is as it was
        assert chat_row() == (False, FROZEN_NOW, "en")
        again, state = arrived("m2", later)
        assert (again.id, again.language, state) == (chat.id, "en", None) and chat_row() == (True, later, "en")
        with db.transaction() as session:
            waits = state_row(
                chat=again, flow="coverage", step="got_nik", data={}, choices=[], now=later, expires_at=later
            )
            save_state(session, waits)
        _, state = arrived("m3", later)
        assert (state.flow, state.step) == ("coverage", "got_nik")
    finally:
        db.dispose()


def test_a_message_id_is_claimed_once_per_channel(database_url):
    db = fresh(database_url)
    with db.transaction() as session:
        assert claim_message(session, channel="telegram", message_id="7", now=FROZEN_NOW)
        assert not claim_message(session, channel="telegram", message_id="7", now=FROZEN_NOW)
        assert claim_message(session, channel="whatsapp", message_id="7", now=FROZEN_NOW)
    db.dispose()


def test_old_message_ids_are_pruned_and_recent_ones_kept(database_url):
    db = fresh(database_url)
    with db.transaction() as session:
        for message_id, days_ago in (("old", 31), ("new", 1)):
            claim_message(session, channel="telegram", message_id=message_id, now=FROZEN_NOW - timedelta(days=days_ago))
    with db.transaction() as session:
        assert prune_processed(session, before=FROZEN_NOW - timedelta(days=30)) == 1
    with db.transaction() as session:  # "new" is still known; "old" was forgotten, so it counts as new again
        claimed = [claim_message(session, channel="telegram", message_id=key, now=FROZEN_NOW) for key in ("new", "old")]
    assert claimed == [False, True]
    db.dispose()


def test_failures_are_counted_inside_the_window_only(database_url):
    db = fresh(database_url)
    with db.transaction() as session:
        chat = get_chat(session)
        for minutes, outcome in (
            (-90, attempts.NOT_FOUND),
            (-30, attempts.NOT_FOUND),
            (-20, attempts.FOUND),
            (-10, attempts.NOT_FOUND),
        ):
            attempts.record_attempt(
                session,
                chat=chat,
                purpose="coverage_check",
                outcome=outcome,
                now=FROZEN_NOW + timedelta(minutes=minutes),
            )
    with db.transaction() as session:
        failures = attempts.failures_since(session, chat=chat, since=FROZEN_NOW - timedelta(minutes=60))
    assert failures == [FROZEN_NOW - timedelta(minutes=30), FROZEN_NOW - timedelta(minutes=10)]
    db.dispose()


def test_masks_show_only_what_a_person_recognises():
    assert mask_nik("1603010503800001") == "1603********0001"
    assert mask_name("Budi  Santoso") == "B*** S******"
    assert mask_kpj("12345678901") == "*******8901"
    assert mask_kpj("123") == "****123"
    assert mask_kpj(None) == "-"


def test_hashes_depend_on_the_key():
    other = IdentityHasher(b"o" * 32)
    assert HASHER.nik_hash("1603010503800001") != other.nik_hash("1603010503800001")
    assert len(HASHER.nik_hash("1603010503800001")) == 64


def test_hashes_stay_those_stored_rosters_were_made_with_also_in_import_workers():
    """HMAC-SHA256 of the same texts as every earlier release, also from a
    hasher that crossed to a worker process: rows written by either are found."""
    nik_hash = "f1f9d9189337bc596cd706bbd28293a4d3da2226b7613eb1efb827930122dbec"
    birth_hash = "d08c73f823393789bcbacf63187e75e99ccbcc41ce70b106f579229e0e47b155"
    for hasher in (HASHER, pickle.loads(pickle.dumps(HASHER))):
        assert hasher.nik_hash("1603010503800001") == nik_hash
        assert hasher.birth_hash(nik_hash, date(1980, 3, 5)) == birth_hash


async def test_a_whole_coverage_check_on_each_database(any_db_app):
    chat = Conversation(any_db_app)
    await chat.run("""
        > halo
        > 1
        > 1603010503800001
        > 05-03-1980
        NIK ini terdaftar dalam program
        Sisa: 34 hari lagi
        > Lihat data lengkap
        > 0812 3456 7890
        Kepesertaan ditemukan.
        Nama: B*** S******
        > ya
        Baik, kami akan mengingatkan Anda
    """)


def test_one_message_delivered_to_two_processes_at_once_is_answered_once(tmp_path, database_url, clock):
    """Two bot processes (two engines, two event loops) get the same update."""
    apps = [build_app(make_settings(tmp_path, database_url), clock=clock) for _ in range(2)]
    replies: list[str] = []
    start = threading.Barrier(2)

    def deliver(app) -> None:
        async def collect(message, _held, _who) -> None:
            replies.append(message.text)

        start.wait()
        inbound = Inbound(channel="telegram", chat_id="9", message_id="update-1", text="halo")
        asyncio.run(app.dispatcher.handle(inbound, collect))

    threads = [threading.Thread(target=deliver, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for app in apps:
        app.close()
    assert len(replies) == 1 and "Halo! Saya Payung" in replies[0]


def _lose_connection(db: Database) -> None:
    """The server ends the pool's one connection, as a restart would."""
    with db.transaction() as session:
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
    other = Database(db.url)
    try:
        with other.engine.connect() as connection:
            assert connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 5000)").scalar()
    finally:
        other.dispose()


def test_a_postgresql_connection_lost_while_resting_is_replaced_before_anyone_uses_it(postgres_url):
    db = Database(postgres_url)
    try:
        _lose_connection(db)
        time.sleep(RESTED_SECONDS + 0.2)
        with db.transaction() as session:
            assert session.connection().exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        db.dispose()


def test_a_connection_in_steady_use_is_not_pinged_so_one_lost_that_moment_fails_once(postgres_url):
    # The price of skipping a round trip a message: the one transaction that
    # meets a connection broken within the last second fails, and the next works.
    db = Database(postgres_url)
    try:
        _lose_connection(db)
        with pytest.raises(OperationalError), db.transaction() as session:
            session.connection().exec_driver_sql("SELECT 1")
        with db.transaction() as session:
            assert session.connection().exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        db.dispose()


def _driver(db: Database) -> str:
    with db.transaction() as session:
        return session.connection().dialect.driver


def _server_connections(db: Database) -> int:
    """Connections under this database's application name, the asker's own not counted."""
    with db.transaction() as session:
        return (
            session.connection()
            .exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid()"
            )
            .scalar()
        )


def _named(url: str) -> str:
    """The URL with an application name of its own, as an operator may give one."""
    return f"{url}{'&' if '?' in url else '?'}application_name=payung-{uuid.uuid4().hex[:12]}"


def test_the_loops_own_transactions_await_asyncpg_and_each_loop_gets_its_own_connections(postgres_url):
    db = Database(_named(postgres_url))
    try:
        assert _driver(db) == "psycopg"  # threads and commands

        async def a_loop() -> tuple[str, int]:
            ticks = 0

            async def ticking() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            ticker = asyncio.create_task(ticking())

            def slow() -> str:
                with db.transaction() as session:
                    session.connection().exec_driver_sql("SELECT pg_sleep(0.3)")
                return _driver(db)

            driver = await db.on_loop(slow)
            ticker.cancel()
            return driver, ticks

        for _ in range(2):  # a new loop (another test's, another command's) opens its own
            driver, ticks = asyncio.run(a_loop())
            assert driver == "asyncpg"
            assert ticks >= 10  # the loop went on while the server slept
    finally:
        db.dispose()


def test_a_stop_closes_the_connections_the_loop_opened(postgres_url):
    db = Database(_named(postgres_url))  # the URL's parameters reach both drivers

    async def served() -> None:
        await db.on_loop(_driver, db)
        assert _server_connections(db) == 1
        await db.leave_loop()

    try:
        asyncio.run(served())
        deadline = time.monotonic() + 5
        while _server_connections(db) and time.monotonic() < deadline:
            time.sleep(0.05)  # the server's backend ends a moment after the client hangs up
        assert _server_connections(db) == 0
    finally:
        db.dispose()


def test_a_connection_the_loop_lost_while_resting_is_replaced_before_anyone_uses_it(postgres_url):
    db = Database(postgres_url)

    def pid() -> int:
        with db.transaction() as session:
            return session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()

    async def restarted() -> None:
        lost = await db.on_loop(pid)
        with db.transaction() as session:  # psycopg's connection, outside the loop's work
            assert session.connection().exec_driver_sql(f"SELECT pg_terminate_backend({lost}, 5000)").scalar()
        await asyncio.sleep(RESTED_SECONDS + 0.2)
        assert await db.on_loop(pid) != lost
        await db.leave_loop()

    try:
        asyncio.run(restarted())
    finally:
        db.dispose()


def test_libpq_s_url_settings_reach_asyncpg_and_one_it_cannot_use_stops_the_start_in_one_line(postgres_url):
    remote = f"{postgres_url}?connect_timeout=10&keepalives_idle=30&keepalives_interval=10&keepalives_count=3"
    db = Database(f"{_named(remote)}&options=-c%20statement_timeout%3D12345")

    def settings() -> tuple[str, str]:
        with db.transaction() as session:
            connection = session.connection()
            return tuple(
                connection.exec_driver_sql(f"SHOW {name}").scalar()
                for name in ("statement_timeout", "application_name")
            )

    async def served() -> tuple[str, str]:
        await db.open_on_loop()
        try:
            return await db.on_loop(settings)
        finally:
            await db.leave_loop()

    try:
        assert asyncio.run(served()) == settings()  # both drivers: the options and the application's name
        assert settings()[0] == "12345ms"
    finally:
        db.dispose()
    unknown = Database(f"{postgres_url}?no_such_setting=1")
    try:
        with pytest.raises(DatabaseUnavailable, match="on the event loop: .*no_such_setting"):
            asyncio.run(unknown.open_on_loop())
    finally:
        unknown.dispose()
