"""Replies are held in the database with the step that said them, until the
platform has them: a bot killed while replies wait at the paced rate
answers everyone once it is started again."""

from __future__ import annotations

import asyncio
import io
import signal
import sys
import threading
from collections import Counter

import pytest
from sqlmodel import select

from bot.channels.console import ConsoleChannel
from handlers.messages import Outbound
from storage import replies
from storage.models import PendingReply
from tests.conftest import build
from tests.processes import bot_environment, free_port
from tests.telegram_standin import TOKEN, BotApiStandIn, text_update
from tests.test_telegram import started
from tests.transcript import Chat

PEOPLE = 300
PACE = 150  # replies a second, so the burst waits in the queue for seconds


@pytest.fixture
async def api():
    async with BotApiStandIn() as standin:
        yield standin


async def start_bot(tmp_path, api: BotApiStandIn) -> asyncio.subprocess.Process:
    env = bot_environment(
        PAYUNG_NIK_KEY="k" * 40,
        TELEGRAM_BOT_TOKEN=TOKEN,
        PAYUNG_DATA_DIR=str(tmp_path / "data"),
        PAYUNG_TELEGRAM__BASE_URL=api.base_url,
        PAYUNG_TELEGRAM__BASE_FILE_URL=api.base_file_url,
        PAYUNG_TELEGRAM__POLL_TIMEOUT="1",
        PAYUNG_TELEGRAM__PACE__OVERALL_PER_SECOND=str(PACE),
        PAYUNG_RESEND_UNSENT_AFTER_SECONDS="2",
        PAYUNG_WEB__PORT=str(free_port()),
    )
    with (tmp_path / "bot.log").open("a") as log:  # both runs' logs, for the assertions
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env, stderr=log
        )


def answered(api: BotApiStandIn) -> Counter:
    return Counter(call["chat_id"] for call in api.sent())


async def until(condition, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_a_bot_killed_in_a_burst_answers_everyone_after_a_restart(tmp_path, api):
    bot = await start_bot(tmp_path, api)
    try:
        api.push(*(text_update(number, 10_000 + number, "halo") for number in range(1, PEOPLE + 1)))
        await until(lambda: len(api.sent()) >= 50, timeout=60)
    finally:
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
    before = answered(api)
    assert len(before) < PEOPLE - 100  # most were still waiting at the paced rate
    await asyncio.sleep(2)  # the dead process's hold on them runs out (PAYUNG_RESEND_UNSENT_AFTER_SECONDS)
    bot = await start_bot(tmp_path, api)
    try:
        await until(lambda: len(answered(api)) == PEOPLE, timeout=60)
        await asyncio.sleep(1)  # anything sent twice would arrive by now
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.wait_for(bot.wait(), 30)
    logged = (tmp_path / "bot.log").read_text()
    assert "Traceback" not in logged, logged
    replies = answered(api)
    assert all(api.sent()[0]["text"] == call["text"] for call in api.sent())  # the greeting, once each
    # Repeats only from the kill's moment: a reply holds its in-flight place
    # (pace.in_flight, 8) from its call until the database has forgotten it.
    repeated = sum(count - 1 for count in replies.values())
    assert repeated <= 8, replies.most_common(5)


async def test_replies_are_held_with_the_step_and_forgotten_once_sent(any_db_app):
    app = any_db_app
    chat = Chat(app, chat_id="budi")
    await chat.says("halo")
    with app.db.transaction() as session:
        [held] = session.exec(select(PendingReply)).all()
    assert held.chat_id == "budi" and held.body["text"].startswith("Halo! Saya Payung")
    assert held.due_at == app.clock() + app.sending.resend_after

    # The transcript harness takes replies as the engine hands them over and
    # never sends them, like a process killed before it could: they wait to
    # be sent by whoever takes them up once they are due.
    printed = io.StringIO()
    console = {"console": ConsoleChannel(app.dispatcher, app.sending, chat_id="-", output=printed)}
    assert await app.sending.resend(console) == 0  # not due yet: its process may still be sending it
    app.clock.advance(seconds=app.sending.resend_after.total_seconds())
    assert await app.sending.resend(console) == 1
    assert printed.getvalue().startswith(held.body["text"])
    await app.sending.flush()
    with app.db.transaction() as session:
        assert session.exec(select(PendingReply)).all() == []


def test_a_steps_replies_are_held_in_the_order_said_however_many(any_db_app):
    # Eleven take two inserts (eight at most in one); each id names its own reply.
    app = any_db_app
    bodies = [{"text": f"baris {number}"} for number in range(11)]
    with app.db.transaction() as session:
        held = replies.hold(session, channel="telegram", chat_id="1", bodies=bodies, due_at=app.clock())
        stored = {row.id: row.body for row in session.exec(select(PendingReply)).all()}
    assert [stored[reply] for reply in held] == bodies and held == sorted(held)


@pytest.mark.parametrize("said", [0, 2, 11])
def test_where_a_chat_waits_next_is_saved_with_its_replies(any_db_app, said):
    # On PostgreSQL in the replies' first INSERT (a round trip less a message);
    # with nothing to say, or on SQLite, on its own.
    from datetime import timedelta

    from sqlalchemy import event

    from storage.chats import open_chat, state_row

    app, now = any_db_app, any_db_app.clock()
    bodies = [{"text": f"baris {number}"} for number in range(said)]
    statements = []
    with app.db.transaction() as session:
        chat, _ = open_chat(session, channel="telegram", chat_id="1", language="id", now=now)
        state = state_row(
            chat=chat, flow="coverage", step="got_nik", data={"nik_masked": "1603********0001"},
            choices=[["batal", "Batal"]], now=now, expires_at=now + timedelta(minutes=30),
        )  # fmt: skip
        counted = lambda *_args: statements.append(1)  # noqa: E731
        event.listen(app.db.engine, "before_cursor_execute", counted)
        try:
            held = replies.hold(session, channel="telegram", chat_id="1", bodies=bodies, due_at=now, state=state)
        finally:
            event.remove(app.db.engine, "before_cursor_execute", counted)
        stored = {row.id: row.body for row in session.exec(select(PendingReply)).all()}
    with app.db.transaction() as session:
        _, saved = open_chat(session, channel="telegram", chat_id="1", language="id", now=now)
    assert [stored[reply] for reply in held] == bodies
    assert (saved.flow, saved.step, saved.data, saved.choices) == (
        "coverage", "got_nik", {"nik_masked": "1603********0001"}, [["batal", "Batal"]],
    )  # fmt: skip
    assert saved.expires_at == now + timedelta(minutes=30)
    inserts = -(-said // replies.MOST_IN_ONE_INSERT)
    together = said and not app.db.is_sqlite
    assert len(statements) == inserts + (0 if together else 1)


def test_a_held_reply_comes_back_whole_buttons_request_template_and_files(any_db_app):
    app = any_db_app
    from datetime import timedelta

    from handlers.messages import Choice, Outbound, Request, TemplateRef
    from storage import replies
    from storage.media import Media

    said = Outbound(
        "Kirim nomor Anda",
        choices=(Choice("yes", "Ya", "lanjut"), Choice("no", "Tidak")),
        request=Request("contact", "Kirim nomor saya"),
        template=TemplateRef("reminder_30", (("nik", "1603********0001"), ("end_date", "31 Desember 2026"))),
        attachments=(Media("/data/media/a.jpg", "ab" * 32, "image/jpeg", 1200, "luka"),),
    )
    now = app.clock()
    with app.db.transaction() as session:
        held = replies.hold(session, channel="whatsapp", chat_id="628", bodies=[said.as_json()] * 2, due_at=now)
    with app.db.transaction() as session:
        taken = replies.take_up(session, channel="whatsapp", now=now, lease=timedelta(minutes=1))
        again = replies.take_up(session, channel="whatsapp", now=now, lease=timedelta(minutes=1))
    assert [row.id for row in taken] == held and again == []  # held anew for the lease
    assert [Outbound.from_json(row.body) for row in taken] == [said, said]


async def test_a_reply_sent_but_not_yet_forgotten_is_not_sent_again(app):
    """A reply is out, and its DELETE waits behind other writes (a busy
    database) past the lease: the next `resend` must see it as this
    process's, not as a reply some stopped process left behind."""
    chat = Chat(app, chat_id="budi")
    await chat.says("halo")
    printed = io.StringIO()
    console = {"console": ConsoleChannel(app.dispatcher, app.sending, chat_id="-", output=printed)}
    release = threading.Event()
    busy = app.writes.write(lambda _session: release.wait(10))  # the group commit's next batch waits for it
    try:
        app.clock.advance(seconds=app.sending.resend_after.total_seconds())
        assert await app.sending.resend(console) == 1  # out at once; its DELETE queued behind `busy`
        app.clock.advance(seconds=app.sending.resend_after.total_seconds())
        assert await app.sending.resend(console) == 0
    finally:
        release.set()
    await busy
    await app.sending.flush()
    assert printed.getvalue().count("Halo! Saya Payung") == 1
    with app.db.transaction() as session:
        assert session.exec(select(PendingReply)).all() == []


async def test_a_reply_slow_to_go_stays_its_process_s_while_that_process_runs(tmp_path, database_url, clock, api):
    """The reply is still queued when its first lease runs out: another
    process looking for unsent replies must leave it to the process still
    sending it, which renewed its hold in the meantime."""
    for data in ("sending", "other"):
        (tmp_path / data).mkdir()
    sending = build(tmp_path / "sending", database_url, clock, roster=None)
    other = build(tmp_path / "other", database_url, clock, roster=None)
    try:
        channel = await started(sending, api)
        with sending.db.transaction() as session:
            [held] = replies.hold(
                session,
                channel="telegram",
                chat_id="501",
                bodies=[Outbound("pesan").as_json()],
                due_at=clock() + sending.sending.resend_after,
            )
        api.delays["sendMessage"] = 2.0
        sending.sending.submit(channel, "501", Outbound("pesan"), held=held)
        lease = sending.sending.resend_after.total_seconds()
        clock.advance(seconds=lease / 2)
        assert await sending.sending.resend({"telegram": channel}) == 0  # still its own: held on
        clock.advance(seconds=lease / 2 + 1)  # past the first lease, which the other process sees run out
        assert await other.sending.resend({"telegram": channel}) == 0
        await channel.sender.drain()
        await sending.sending.flush()
        await channel.stop()
    finally:
        sending.close()
        other.close()
    assert [call["text"] for call in api.sent()] == ["pesan"]
    with other.db.transaction() as session:
        assert session.exec(select(PendingReply)).all() == []
