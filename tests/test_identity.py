"""What each level of proof may see, for each party: a stranger holding a
KTP photocopy, the person on their own number, a village officer of the same
and of another village, and the chat that filed a report; the limits per
chat, per officer and per NIK; the audit trail; a roster that changes the
phone."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from sqlmodel import select

from bot.ops.roster import import_roster, open_roster
from storage.models import LookupAttempt, OutboxMessage
from tests.conftest import ADMIN, BUDI, ROSTER, build, write_csv
from tests.test_cli import payung
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK, CHRONOLOGY
from tests.test_transcript_officer import import_officers, linked_rina, officers_file, with_rina
from tests.transcript import Chat

BUDI_PHONE = "+6281234567890"  # the roster's number for Budi
WHOLE_CARD = ("Nama: B*** S******", "No. KPJ", "Kategori", "Desa: Talang Demo")


def whatsapp(app, phone: str) -> Chat:
    return Chat(app, channel="whatsapp", chat_id=phone.lstrip("+"), sender_phone=phone)


async def check(chat: Chat, nik: str = BUDI_NIK, born: str = BUDI_BORN) -> str:
    said = ""
    for line in ("halo", "1", nik, born):
        said = await chat.says(line)
    return said


def shows_the_whole_card(said: str) -> bool:
    return all(part in said for part in WHOLE_CARD)


def roster_gives_budi_a_new_phone(app) -> None:
    """A roster imported again, with Budi's phone now +6281277778888."""
    moved = [dict(BUDI, telepon="0812-7777-8888"), *ROSTER[1:]]
    path = write_csv(app.settings.data_dir / "roster-2.csv", moved)
    import_roster(
        open_roster(path), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=app.clock(), batch_size=100
    )


async def report_about_budi(app, chat: Chat) -> None:
    """A neighbour reports Budi's accident: NIK, name, relation."""
    script = ("halo", "2", "2", BUDI_NIK, "Budi Santoso", "Tetangga", "1", "kemarin", "Kebun", CHRONOLOGY, "selesai")
    for line in (*script, "081299990000", "kirim"):
        await chat.says(line)


async def test_a_ktp_photocopy_learns_only_whether_and_until_when(app):
    # printf 'halo\n1\n<NIK>\n<birth date>\n' | python -m bot chat --chat-id any
    said = await check(Chat(app, "stranger"))
    assert "NIK ini terdaftar dalam program" in said and "Status: AKTIF" in said
    assert "Periode: 1 Oktober 2026 – 31 Desember 2026" in said and "JKK" in said and "JKM" in said
    values = ("Nama:", "B***", "No. KPJ:", "8901", "Kategori:", "Perangkat desa", "Talang Demo", "Lubai")
    assert not any(value in said for value in values), said


async def test_the_owner_on_their_own_whatsapp_number_sees_everything_and_another_number_does_not(app):
    assert shows_the_whole_card(await check(whatsapp(app, BUDI_PHONE)))
    other = await check(whatsapp(app, "+6281300000099"))
    assert "NIK ini terdaftar" in other and not shows_the_whole_card(other)
    assert "Jika nomor Anda sudah ganti, minta kantor desa memperbaruinya." in other
    assert "Lihat data lengkap" not in other  # WhatsApp's sender is the proof; there is nothing more to show


async def test_a_person_without_a_roster_phone_is_told_to_ask_the_village_office(app):
    siti = await check(whatsapp(app, "+6281300000099"), nik="1603024512850002", born="05-12-1985")
    assert "belum ada nomor tercatat. Minta kantor desa mencatatnya." in siti and "Nama" not in siti


async def test_reports_are_seen_by_their_reporter_the_owner_and_the_villages_officer_only(app):
    with_rina(app)
    rows = [["1603015506880002", "Ani Lain", "1988-06-15", "Kaur", "Karang Demo", "Gelumbang", "0812-5555-6666"]]
    import_officers(officers_file(app, rows), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=app.clock())
    neighbour = Chat(app, "neighbour")
    await report_about_budi(app, neighbour)
    budi = whatsapp(app, BUDI_PHONE)
    await check(budi)  # proves his number once

    async def sees(chat: Chat) -> bool:
        for line in ("menu", "Status laporan"):
            await chat.says(line)
        return "Status: Diterima" in await chat.says("LK-2026-000001")

    rina = await linked_rina(app)  # Talang Demo, Budi's village
    other_officer = Chat(app, channel="whatsapp", chat_id="6281255556666")
    for line in ("halo", "perangkat", "1603015506880002"):
        await other_officer.says(line)
    await other_officer.send("15-06-1988", sender_phone="+6281255556666")
    assert [await sees(chat) for chat in (neighbour, budi, rina, other_officer, Chat(app, "stranger"))] == [
        True,
        True,
        True,
        False,
        False,
    ]
    # Budi's own list holds the report about him, though another chat filed it.
    await budi.says("menu")
    [listed] = await budi.send("Status laporan")
    assert [choice.title for choice in listed.choices][0] == "LK-2026-000001"
    with app.db.transaction() as session:
        shown = session.exec(select(LookupAttempt).where(LookupAttempt.purpose == "report")).all()
    assert sorted(row.proof for row in shown if row.outcome == "shown") == ["officer", "owner", "reporter"]


async def test_a_nik_failing_from_many_chats_answers_only_its_owner_and_the_operators_hear_once(app):
    app.settings.telegram = app.settings.telegram.model_copy(update={"operator_chat_id": -100200300})
    for number in range(10):  # five guesses from each of two console chats and eight WhatsApp numbers
        chat = Chat(app, f"guess-{number}") if number < 2 else whatsapp(app, f"+62813000000{number:02d}")
        said = await check(chat, born=f"0{number}-01-1970" if number else "01-02-1970")
        assert "tidak ditemukan" in said
    stranger = await check(Chat(app, "late-stranger"))  # the right birth date, from a chat not yet guessing
    assert "NIK ini sementara tidak bisa dicek" in stranger and "AKTIF" not in stranger
    assert shows_the_whole_card(await check(whatsapp(app, BUDI_PHONE)))  # the owner still gets in
    assert "AKTIF" in await check(Chat(app, "another-nik"), nik="1603024512850002", born="05-12-1985")
    with app.db.transaction() as session:
        told = [row.body for row in session.exec(select(OutboxMessage)).all() if "PERINGATAN" in row.body]
    assert told == [
        "PERINGATAN: NIK 1603********0001 (Desa Talang Demo, Kec. Lubai) gagal dicek 10 kali dalam 24 jam, "
        "dari chat mana pun. Cek untuk NIK ini dikunci sementara: hanya pemilik dengan nomor HP terverifikasi "
        "yang bisa melihat datanya."
    ]
    app.clock.advance(hours=24)
    assert "AKTIF" in await check(Chat(app, "next-day"))


async def test_a_village_officer_may_check_more_often_and_is_audited_by_name(app):
    with_rina(app)
    rina = await linked_rina(app)
    for attempt in range(12):  # more than a resident's five
        await rina.says("menu")
        said = await check(rina, nik=f"160301050380{attempt + 10:04d}", born="05-03-1980")
        assert "tidak ditemukan" in said, attempt
    with app.db.transaction() as session:
        checks = session.exec(select(LookupAttempt).where(LookupAttempt.purpose == "coverage_check")).all()
    officer_rows = [row for row in checks if row.officer_id is not None]
    assert len(officer_rows) == 12 and {row.proof for row in officer_rows} == {"officer"}
    resident = Chat(app, "resident")
    for _ in range(5):
        await check(resident, nik="1603010503800009")
    await resident.says("menu")
    assert "Terlalu banyak percobaan" in await resident.says("1")


async def test_a_chat_locked_out_of_checks_can_still_report_about_itself(app):
    chat = Chat(app)
    for _ in range(5):
        await check(chat, nik="1603010503800009")
    await chat.says("menu")
    said = [await chat.says(line) for line in ("lapor", "Saya sendiri", BUDI_NIK, "Budi Santoso")]
    assert "Cek data sedang dikunci untuk chat ini, tetapi laporan tetap bisa dikirim." in said[1]
    assert "Ketik nama lengkap Anda" in said[2] and "Apa yang terjadi?" in said[3]
    for line in ("1", "kemarin", "Kebun", CHRONOLOGY, "selesai"):
        await chat.says(line)
    summary = await chat.says("081234567890")
    assert "1. Yang mengalami: Budi Santoso, NIK 1603********0001 (Diri sendiri, belum dicocokkan)" in summary
    filed = await chat.says("kirim")
    assert "Nomor laporan: LK-2026-000001" in filed and "Petugas akan memeriksa data kepesertaannya." in filed


async def test_a_roster_that_changes_the_phone_ends_the_proof(app):
    budi = whatsapp(app, BUDI_PHONE)
    assert shows_the_whole_card(await check(budi))
    await budi.says("menu")
    assert shows_the_whole_card(await check(budi))
    roster_gives_budi_a_new_phone(app)
    await budi.says("menu")
    said = await check(budi)
    assert "NIK ini terdaftar" in said and not shows_the_whole_card(said)
    assert shows_the_whole_card(await check(whatsapp(app, "+6281277778888")))


async def test_a_chat_proven_once_sees_the_whole_card_at_its_next_check_until_the_roster_changes_the_phone(app):
    chat = Chat(app, "budi-console")  # the console takes a typed number as its proof
    assert not shows_the_whole_card(await check(chat))
    assert "Ketik nomor HP Anda" in await chat.says("3")  # Lihat data lengkap
    assert shows_the_whole_card(await chat.says("0812 3456 7890"))
    await chat.says("menu")
    assert shows_the_whole_card(await check(chat))  # proven before: no number asked again
    roster_gives_budi_a_new_phone(app)
    await chat.says("menu")
    said = await check(chat)
    assert "NIK ini terdaftar" in said and not shows_the_whole_card(said)


async def test_the_audit_command_answers_who_looked_at_my_data(app, tmp_path):
    await check(Chat(app, "stranger"))
    await check(whatsapp(app, BUDI_PHONE))
    await check(Chat(app, "guesser"), born="01-01-1970")
    database = {
        "PAYUNG_DATABASE_URL": str(app.settings.database_url),
        "PAYUNG_NIK_KEY": app.settings.nik_key.get_secret_value(),
    }
    shown = payung(tmp_path, "audit", "--nik", BUDI_NIK, env=database)
    assert shown.returncode == 0, shown.stderr
    assert "Audit trail about NIK 1603********0001: 4 rows" in shown.stdout
    lines = [line for line in shown.stdout.splitlines() if "coverage_check" in line or "card" in line]
    assert any("stranger" in line and "ktp" in line and "found" in line for line in lines)
    assert any("6281234567890" in line and "owner" in line and "shown" in line for line in lines)
    assert any("guesser" in line and "not_found" in line for line in lines)
    assert BUDI_NIK not in shown.stdout
    other = payung(tmp_path, "audit", "--nik", "1603024512850002", env=database)
    assert "0 rows" in other.stdout


async def test_failed_checks_far_above_normal_raise_a_warning_and_a_metric(app, caplog):
    app.settings.coverage = app.settings.coverage.model_copy(update={"alarm_failed_per_minute": 3})
    from bot.app import build_app  # the alarm's threshold is read when the app is built

    alarmed = build_app(app.settings, clock=app.clock)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.check_alarm"):
            for number in range(4):
                await check(Chat(alarmed, f"bot-{number}"), nik=f"160301050380{number + 10:04d}")
        assert [record.levelname for record in caplog.records] == ["WARNING"]
        assert "identity checks are failing fast" in caplog.records[0].getMessage()
        metrics = alarmed.metrics.render().decode()
        assert "payung_check_alarms_total 1.0" in metrics and "payung_failed_checks_total 4.0" in metrics
    finally:
        alarmed.close()


async def test_on_postgresql_a_nik_guessed_from_many_chats_at_once_still_fails_only_its_limit(
    tmp_path, postgres_url, clock
):
    # PostgreSQL answers chats in parallel threads (and bots in parallel
    # processes): twenty wrong birth dates arriving together must not all
    # count the NIK's failures before any of them is recorded.
    app = build(tmp_path, postgres_url, clock)
    try:
        app.settings.telegram = app.settings.telegram.model_copy(update={"operator_chat_id": -100200300})
        chats = [Chat(app, f"guess-{number}") for number in range(20)]
        for chat in chats:
            for line in ("halo", "1", BUDI_NIK):
                await chat.says(line)
        said = await asyncio.gather(*(chat.says(f"{number + 1:02d}-01-1970") for number, chat in enumerate(chats)))
        assert sum("tidak ditemukan" in answer for answer in said) == 10
        assert sum("NIK ini sementara tidak bisa dicek" in answer for answer in said) == 10
        with app.db.transaction() as session:
            outcomes = Counter(row.outcome for row in session.exec(select(LookupAttempt)).all())
            told = [row.body for row in session.exec(select(OutboxMessage)).all() if "PERINGATAN" in row.body]
        assert outcomes == {"not_found": 10, "refused": 10} and len(told) == 1
    finally:
        app.close()
