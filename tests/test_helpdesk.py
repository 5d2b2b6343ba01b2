"""Bicara dengan petugas: a person reaches an operator, who answers from the
console; the answer goes out through the outbox, a WhatsApp answer past 24
hours as its template first; the operators hear of a new thread; office
hours; and every helpdesk route for every role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.console.routes import console_site
from bot.web import build_web
from storage import helpdesk
from storage.chats import open_chat
from storage.tables import CONSOLE_AUDIT, HELP_MESSAGES, OUTBOX
from tests.conftest import build
from tests.console_world import PHOTO, log_in, make_accounts, photo
from tests.servers import served_in_thread
from tests.transcript import Chat


@pytest.fixture
def desk(tmp_path, database_url, clock):
    """The bot and its console, the operators' Telegram group configured."""
    app = build(tmp_path, database_url, clock, telegram={"operator_chat_id": -100})
    make_accounts(app)
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        yield app, url
    app.close()


def outbox_rows(app, kind: str) -> list[dict]:
    with app.db.transaction() as session:
        return [
            dict(row) for row in session.connection().execute(select(OUTBOX).where(OUTBOX.c.kind == kind)).mappings()
        ]


async def test_a_person_reaches_an_operator_who_answers_from_the_console(desk):
    app, url = desk
    person = Chat(app, "warga-9")
    await person.run(
        """
        > halo
        [Cek kepesertaan | Lapor kejadian | Status laporan | Pengingat | Bantuan | Bahasa/Language |
         Bicara dengan petugas]
        > mau bicara dengan orang
        pesan Anda akan dibaca petugas
        Jam layanan: Senin–Jumat, 08.00–16.00 WIB.
        > nama saya salah ditulis di daftar, harusnya Siti Aminah
        (tidak ada balasan)
        """
    )
    await person.send("ini fotonya", media=(photo(app.settings.data_dir),))
    # The operators' group hears that someone waits, and nothing of who or what.
    [notice] = [row["body"] for row in outbox_rows(app, "notice")]
    assert "percakapan #1" in notice and "Siti" not in notice and "warga-9" not in notice
    operator, token = log_in(url, "operator")
    assert "Percakapan #1" in operator.get("/console/helpdesk").text
    thread = operator.get("/console/helpdesk/1").text
    assert "nama saya salah ditulis di daftar" in thread and "/console/helpdesk/1/files/" in thread
    picture = operator.get(f"/console/helpdesk/1/files/{thread_message_ids(app)[1]}/0")
    assert picture.content == PHOTO
    answer = operator.post(
        "/console/helpdesk/1/answer",
        data={"csrf": token, "canned": "", "text": "Baik, kami perbaiki minggu ini."},
        files={"file": ("surat.pdf", b"%PDF-1.4 surat", "application/pdf")},
    )
    assert answer.status_code == 303
    [sent] = outbox_rows(app, "answer")
    assert (
        sent["body"] == "Baik, kami perbaiki minggu ini." and sent["attachments"][0]["mime_type"] == "application/pdf"
    )
    assert "console:oki" in operator.get("/console/helpdesk").text  # taken by whoever answered
    # The person writes on: it goes to the same thread, and the bot keeps quiet.
    await person.run("> terima kasih pak\n(tidak ada balasan)")
    assert "terima kasih pak" in operator.get("/console/helpdesk/1/messages").text
    assert operator.post("/console/helpdesk/1/close", data={"csrf": token}).status_code == 303
    closed = [row["body"] for row in outbox_rows(app, "notice") if "selesai" in row["body"]]
    assert closed == ['Percakapan dengan petugas sudah selesai. Ketik "menu" kapan saja untuk kembali ke menu.']
    await person.run("> 1\nKetik NIK Anda")  # back with the bot: the menu's first entry
    with app.db.transaction() as session:
        actions = session.connection().execute(select(CONSOLE_AUDIT.c.action)).scalars().all()
    assert {"helpdesk_answer", "helpdesk_close", "file_view"} <= set(actions)


def thread_message_ids(app) -> list[int]:
    with app.db.transaction() as session:
        return [message.id for message in helpdesk.messages(session, thread_id=1)]


async def test_three_misses_in_a_row_offer_a_person_and_help_leads_there_too(desk):
    app, _ = desk
    person = Chat(app, "warga-10")
    await person.run(
        """
        > halo
        Silakan pilih
        > klaim saya macet
        Maaf, saya belum mengerti
        > sudah tiga bulan
        Maaf, saya belum mengerti
        > kenapa belum cair
        Mau bicara dengan petugas?
        > 7
        pesan Anda akan dibaca petugas
        """
    )
    other = Chat(app, "warga-11")
    await other.run(
        """
        > bantuan
        [Apa itu JKK? | Apa itu JKM? | Siapa yang dilindungi? | Jika terjadi kecelakaan | Hubungi petugas |
         Kembali ke menu | Setelah 31 Desember |
         Bicara dengan petugas]
        > bicara dengan petugas
        pesan Anda akan dibaca petugas
        """
    )


async def test_after_hours_a_person_hears_when_the_answer_comes_once_per_wait(desk, clock):
    app, _ = desk
    clock.advance(hours=8)  # Friday 18:00 in Muara Enim
    person = Chat(app, "warga-12")
    await person.run(
        """
        > petugas
        Petugas sedang di luar jam layanan (Senin–Jumat, 08.00–16.00).
        Balasan paling cepat Senin, 30 November pukul 08.00.
        > halo pak, ada orang?
        (tidak ada balasan)
        """
    )
    # The scheduler's job: those waiting after hours hear it once per wait.
    assert app.tell_helpdesk_waiting() == 1
    assert app.tell_helpdesk_waiting() == 0
    told = [row["body"] for row in outbox_rows(app, "notice") if "luar jam layanan" in row["body"]]
    assert told == [
        "Petugas sedang di luar jam layanan (Senin–Jumat, 08.00–16.00). "
        "Balasan paling cepat Senin, 30 November pukul 08.00."
    ]


async def test_on_whatsapp_past_24_hours_the_template_goes_first_and_the_answer_when_they_write(desk, clock):
    app, url = desk
    person = Chat(app, "6281234567890", channel="whatsapp", sender_phone="6281234567890")
    await person.run("> bicara dengan petugas\npesan Anda akan dibaca petugas")
    await person.send("kartu saya hilang")
    clock.advance(hours=25)
    operator, token = log_in(url, "operator")
    operator.post("/console/helpdesk/1/answer", data={"csrf": token, "text": "Datang ke kantor cabang, bawa e-KTP."})
    [row] = outbox_rows(app, "answer")
    assert row["state"] == "planned"  # the drainer sends the "answer" template: the window has passed
    with app.db.transaction() as session:
        held = (
            session.connection()
            .execute(select(HELP_MESSAGES.c.awaiting_person).where(HELP_MESSAGES.c.author != "person"))
            .scalars()
            .all()
        )
    assert held == [True]
    await person.run("> oke\nPetugas: Datang ke kantor cabang, bawa e-KTP.")
    await person.run("> makasih\n(tidak ada balasan)")  # given whole once


async def test_a_held_answer_is_given_even_after_the_person_left_and_the_thread_closed(desk, clock):
    app, url = desk
    person = Chat(app, "6281234567890", channel="whatsapp", sender_phone="6281234567890")
    await person.run("> bicara dengan petugas\npesan Anda akan dibaca petugas")
    await person.send("kartu saya hilang")
    await person.run("> menu\nSilakan pilih")  # left; the thread stays open
    clock.advance(hours=25)
    operator, token = log_in(url, "operator")
    operator.post("/console/helpdesk/1/answer", data={"csrf": token, "text": "Datang ke kantor cabang, bawa e-KTP."})
    operator.post("/console/helpdesk/1/close", data={"csrf": token})
    # Whatever the person writes next, the answer comes first, then the reply to what they wrote.
    await person.run(
        """
        > cek
        Petugas: Datang ke kantor cabang, bawa e-KTP.
        NIK
        """
    )
    assert "Petugas:" not in await person.says("batal")  # given once


ROLES = ("anonymous", "viewer", "operator", "admin", "elsewhere")


@pytest.mark.parametrize("role", ROLES)
def test_every_helpdesk_route_answers_each_role_as_its_rights_say(desk, role):
    app, url = desk
    with app.db.transaction() as session:
        chat, _ = open_chat(session, channel="telegram", chat_id="700", language="id", now=app.clock())
        thread_id, _ = helpdesk.open_thread(session, chat_pk=chat.id, now=app.clock())
        message = helpdesk.add_message(
            session,
            thread_id=thread_id,
            author="person",
            text="tolong",
            attachments=[photo(app.settings.data_dir)],
            now=app.clock(),
        )
    browser, token = log_in(url, None if role == "anonymous" else role)
    SIGN_IN, OK, GONE, FORBIDDEN, DONE = 303, 200, 404, 403, 303
    # A thread of a person nobody proved is the regency-wide accounts' ("elsewhere" is Gelumbang's).
    matrix = [
        ("GET", "/console/helpdesk", {}, (SIGN_IN, OK, OK, OK, OK)),
        ("GET", f"/console/helpdesk/{thread_id}", {}, (SIGN_IN, OK, OK, OK, GONE)),
        ("GET", f"/console/helpdesk/{thread_id}/messages", {}, (SIGN_IN, OK, OK, OK, GONE)),
        ("GET", f"/console/helpdesk/{thread_id}/files/{message}/0", {}, (SIGN_IN, OK, OK, OK, GONE)),
        ("POST", f"/console/helpdesk/{thread_id}/take", {}, (SIGN_IN, FORBIDDEN, DONE, DONE, GONE)),
        ("POST", f"/console/helpdesk/{thread_id}/answer", {"text": "baik"}, (SIGN_IN, FORBIDDEN, DONE, DONE, GONE)),
        ("POST", f"/console/helpdesk/{thread_id}/close", {}, (SIGN_IN, FORBIDDEN, DONE, DONE, GONE)),
    ]
    for method, path, form, expected in matrix:
        answer = browser.get(path) if method == "GET" else browser.post(path, data={**form, "csrf": token})
        assert answer.status_code == expected[ROLES.index(role)], (role, method, path, answer.status_code)
    if role == "elsewhere":
        assert "tolong" not in browser.get("/console/helpdesk").text
