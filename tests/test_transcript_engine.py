"""The conversation engine as a person meets it: menu, ways back, expiry,
language, help, duplicates, and what happens when something breaks."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from sqlmodel import select

from handlers.flow import Flow, Turn, ask
from handlers.flows import FLOWS, Flows, build_flows
from storage.chats import set_language
from storage.db import Database
from storage.models import ConversationState, ReminderSubscription
from tests.conftest import build
from tests.transcript import Chat

MENU = (
    "[Cek kepesertaan | Lapor kejadian | Status laporan | Pengingat | Bantuan | Bahasa/Language | "
    "Bicara dengan petugas]"
)
MENU_EN = (
    "[Check my cover | Report an incident | Report status | Reminders | Help | Bahasa/Language | Talk to a person]"
)


async def test_any_first_message_greets_with_the_menu(app):
    for number, first in enumerate(["halo", "/start", "menu", "apa kabar?", "1603010503800001"]):
        await Chat(app, f"first-{number}").run(f"""
            > {first}
            {MENU}
        """)
    await Chat(app, "greet").run(f"""
        > Halo
        Halo! Saya Payung, asisten peserta BPJS Ketenagakerjaan yang dibiayai Kabupaten Muara Enim.
        Silakan pilih (ketik nomornya atau ketuk tombol):
        {MENU}
    """)


async def test_a_choice_by_tap_number_or_title(app):
    tap, number, title = Chat(app, "tap"), Chat(app, "number"), Chat(app, "title")
    for chat in (tap, number, title):
        await chat.says("halo")
    by_tap = await tap.send(choice="coverage")
    assert by_tap[0].text.startswith("Ketik NIK Anda")
    assert (await number.says("1")).startswith("Ketik NIK Anda")
    assert (await title.says("  cek KEPESERTAAN ")).startswith("Ketik NIK Anda")


async def test_a_tap_on_an_old_button_selects_nothing(app):
    chat = Chat(app)
    await chat.says("halo")
    await chat.says("1")
    await chat.says("1603010503800001")
    await chat.says("05-03-1980")  # now asked about reminders: [Ya | Tidak]
    replies = await chat.send(choice="help")  # a menu button from an earlier message
    assert "Silakan pilih salah satu tombol" in replies[0].text
    assert [c.title for c in replies[-1].choices] == ["Ya", "Tidak", "Lihat data lengkap"]


async def test_unknown_menu_text_shows_the_menu_again(app):
    await Chat(app).run(f"""
        > halo
        > 9
        Maaf, saya belum mengerti. Silakan pilih salah satu:
        {MENU}
        > asdf
        Maaf, saya belum mengerti.
    """)


async def test_every_menu_entry_leads_somewhere_and_back(app):
    await Chat(app).run(f"""
        > halo
        > 2
        Laporan kejadian. Siapa yang mengalami?
        > menu
        {MENU}
        > Status laporan
        Belum ada laporan dari chat ini.
        > batal
        {MENU}
    """)


async def test_pengingat_shows_whose_cover_the_next_reminder_and_stops_and_starts(app):
    chat = Chat(app)
    await chat.run("""
        > halo
        > 4
        Chat ini belum berlangganan pengingat.
        Pilih "Cek kepesertaan", lalu jawab "Ya"
    """)
    for line in ("1", "1603010503800001", "05-03-1980", "ya"):
        await chat.says(line)
    app.planner().plan(app.clock())
    await chat.run("""
        > menu
        > Pengingat
        Pengingat aktif untuk: NIK 1603********0001.
        Pengingat berikutnya sekitar 1 Desember 2026.
        [Matikan pengingat | Kembali ke menu]
        > 1
        Baik, Anda tidak akan menerima pengingat lagi dari chat ini. Ketik "mulai" untuk menyalakannya lagi.
        > 4
        Pengingat untuk NIK 1603********0001 sedang dimatikan.
        [Nyalakan lagi | Kembali ke menu]
        > 2
        Ada lagi yang bisa dibantu?
        > mulai
        Baik, pengingat dinyalakan lagi.
    """)
    with app.db.transaction() as db:
        assert [s.active for s in db.exec(select(ReminderSubscription)).all()] == [True]


async def test_batal_menu_and_start_leave_any_step(app):
    await Chat(app, "batal").run(f"""
        > halo
        > 1
        > batal
        Baik, dibatalkan.
        {MENU}
        > 1
        Ketik NIK Anda
    """)
    await Chat(app, "menu").run(f"""
        > halo
        > 1
        > 1603010503800001
        > MENU
        Silakan pilih
        {MENU}
    """)
    await Chat(app, "start").run(f"""
        > halo
        > 5
        > /start
        Halo! Saya Payung
        {MENU}
    """)


async def test_an_idle_session_expires_back_to_the_menu(app, clock):
    chat = Chat(app)
    await chat.says("halo")
    await chat.says("1")
    await chat.says("1603010503800001")
    clock.advance(minutes=31)
    await chat.run(f"""
        > 05-03-1980
        Sesi sebelumnya sudah berakhir karena lama tidak ada balasan.
        {MENU}
        > 1
        Ketik NIK Anda
    """)


async def test_a_session_within_the_idle_time_goes_on(app, clock):
    chat = Chat(app)
    for line in ("halo", "1", "1603010503800001"):
        await chat.says(line)
    clock.advance(minutes=29)
    assert "NIK ini terdaftar" in await chat.says("05-03-1980")


async def test_a_step_that_no_longer_exists_returns_to_the_menu(app):
    chat = Chat(app)
    await chat.says("halo")
    await chat.says("1")
    with app.db.transaction() as db:  # as if a release renamed the step
        state = db.exec(select(ConversationState)).one()
        state.step = "got_old_name"
    await chat.run(f"""
        > 1603010503800001
        Maaf, percakapan tadi tidak bisa dilanjutkan.
        {MENU}
    """)


async def test_language_switch_is_remembered(app, tmp_path, clock):
    chat = Chat(app)
    await chat.run(f"""
        > halo
        > 6
        Pilih bahasa / Choose a language:
        [Bahasa Indonesia | English]
        > English
        OK, we will continue in English.
        Anything else? Please choose:
        {MENU_EN}
        > 1
        Type your NIK
        > 1603010503800001
        > 5 March 1980
        This NIK is enrolled
        Period: 1 October 2026 – 31 December 2026
        Remaining: 34 days
        > See full details
        Type your phone number as recorded in the roster.
        > 0812-3456-7890
        Membership found.
        Category: Village official
        > cancel
        OK, cancelled.
    """)
    # A new process (new dispatcher) still speaks English to this chat.
    restarted = app.dispatcher.with_flows(build_flows())
    app.dispatcher = restarted
    await chat.run(f"""
        > menu
        {MENU_EN}
        > bahasa
        > 1
        Baik, kita lanjut dalam Bahasa Indonesia.
        {MENU}
    """)


async def test_help_answers_from_the_catalogue(app):
    await Chat(app).run("""
        > halo
        > 5
        Bantuan. Pilih topik:
        [Apa itu JKK? | Apa itu JKM? | Siapa yang dilindungi? |
         Jika terjadi kecelakaan | Hubungi petugas | Kembali ke menu | Setelah 31 Desember |
         Bicara dengan petugas]
        > 1
        JKK (Jaminan Kecelakaan Kerja) melindungi Anda
        Bantuan. Pilih topik:
        > 2
        sekitar Rp42 juta
        tidak termasuk Jaminan Hari Tua
        > 4
        Laporkan secepatnya, sebaiknya dalam 2 x 24 jam
        Laporan yang terlambat tetap diterima.
        > 5
        BPJS Ketenagakerjaan: telepon 175
        > 6
        Ada lagi yang bisa dibantu?
        > bantuan
        Bantuan. Pilih topik:
    """)


async def test_a_redelivered_message_is_answered_once(app):
    chat = Chat(app)
    first = await chat.send("halo", message_id="wamid-1")
    again = await chat.send("halo", message_id="wamid-1")
    assert first and again == []


async def test_berhenti_withdraws_reminder_consent(app):
    chat = Chat(app)
    for line in ("halo", "1", "1603010503800001", "05-03-1980", "ya"):
        await chat.says(line)
    await chat.run("""
        > berhenti
        Baik, Anda tidak akan menerima pengingat lagi dari chat ini.
    """)
    with app.db.transaction() as db:
        assert [s.active for s in db.exec(select(ReminderSubscription)).all()] == [False]


def with_broken_help(app, step) -> None:
    """The help entry replaced by a flow that asks, then runs `step` on any answer."""

    async def start(turn: Turn):
        return ask(step, turn.say("common.pick_one"))

    broken = Flow.of("help", start, step, keywords="help", menu="menu.help")
    app.dispatcher = app.dispatcher.with_flows(Flows.of(broken if flow.name == "help" else flow for flow in FLOWS))


async def explodes(turn: Turn):
    set_language(turn.db, chat=turn.chat, language="en")  # a write the failure must roll back
    raise RuntimeError("boom")


async def waits_on_the_network(turn: Turn):
    # A step runs inside the message's transaction, so it must not wait on I/O.
    set_language(turn.db, chat=turn.chat, language="en")
    await asyncio.sleep(0.01)
    return ask(waits_on_the_network, turn.say("common.pick_one"))


@pytest.mark.parametrize("step", [explodes, waits_on_the_network])
async def test_a_failing_step_apologises_without_a_trace_and_rolls_its_writes_back(any_db_app, caplog, step):
    app = any_db_app
    with_broken_help(app, step)
    chat = Chat(app)
    await chat.says("halo")
    await chat.says("5")
    with caplog.at_level(logging.ERROR):
        reply = await chat.says("anything")
    assert "Maaf, terjadi gangguan" in reply and "Silakan pilih" in reply
    assert "Traceback" not in reply and "boom" not in reply
    assert f"step {step.__qualname__} failed" in caplog.text
    assert (await chat.says("1")).startswith("Ketik NIK Anda")  # still Indonesian, still working


async def test_on_postgresql_a_chat_waiting_for_the_database_holds_up_no_other_chat(tmp_path, postgres_url, clock):
    app = build(tmp_path, postgres_url, clock)
    stuck, other = Chat(app, "warga-1"), Chat(app, "warga-2")
    await stuck.says("halo")
    blocker = Database(postgres_url)
    locked, release = threading.Event(), threading.Event()

    def hold_the_first_chats_row() -> None:  # as another process would, for at most 5 s
        with blocker.transaction() as held:
            held.connection().exec_driver_sql("SELECT id FROM chats WHERE chat_id = 'warga-1' FOR UPDATE")
            locked.set()
            release.wait(timeout=5)

    holder = threading.Thread(target=hold_the_first_chats_row)
    holder.start()
    try:
        assert locked.wait(timeout=5)
        waiting = asyncio.create_task(stuck.says("1"))
        answer = await asyncio.wait_for(other.says("halo"), timeout=10)
        assert "Silakan pilih" in answer and not waiting.done()
        release.set()
        assert (await asyncio.wait_for(waiting, timeout=10)).startswith("Ketik NIK Anda")
    finally:
        release.set()
        holder.join()
        blocker.dispose()
        app.close()
