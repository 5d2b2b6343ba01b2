"""Village officers, as they will use Payung: linking a chat, reporting for a
resident of their own village only, the village summary, following their
residents' reports."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlmodel import select, update

from bot.channels.console import ConsoleChannel
from bot.ops.officer_import import import_officers
from handlers.messages import Media
from storage import incidents
from storage.models import Chat as ChatRow
from storage.models import ConversationState, OutboxMessage, Participant
from storage.officers import officers, unlink
from tests.conftest import ADMIN, ROSTER, build, person
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK, CHRONOLOGY, SITI_NIK, own_report
from tests.transcript import Chat, reply_text

RINA_NIK, RINA_BORN, RINA_PHONE = "1603016606900001", "26-06-1990", "+6281211112222"
OFFICER_MENU = (
    "[Cek kepesertaan | Lapor kejadian | Status laporan | Pengingat | Bantuan | Bahasa/Language | "
    "Lapor untuk warga | Klaim warga | Rekap desa | Bicara dengan petugas]"
)
HEADER = ["nik", "nama", "tanggal_lahir", "jabatan", "desa", "kecamatan", "telepon"]


def officers_file(app, rows: list[list[str]]):
    path = app.settings.data_dir / "perangkat.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([HEADER, *rows])
    return path


def with_rina(app):
    rows = [[RINA_NIK, "Rina Wati", "1990-06-26", "Sekretaris desa", "Talang Demo", "Lubai", "0812-1111-2222"]]
    report = import_officers(
        officers_file(app, rows), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=app.clock()
    )
    assert (report.counts.inserted, report.rejected) == (1, [])


async def linked_rina(app, chat_id: str = "6281211112222") -> Chat:
    chat = Chat(app, channel="whatsapp", chat_id=chat_id)
    for line in ("halo", "perangkat", RINA_NIK):
        await chat.says(line)
    linked, _menu = await chat.send(RINA_BORN, sender_phone=RINA_PHONE)
    assert linked.text.startswith("Terhubung sebagai Sekretaris desa, Desa "), linked.text
    return chat


def test_the_officers_list_is_checked_like_the_roster(app):
    rows = [
        [RINA_NIK, "Rina Wati", "1990-06-26", "Sekretaris desa", "Talang Demo", "Lubai", "0812-1111-2222"],
        [RINA_NIK, "Rina Lagi", "1990-06-26", "Kaur", "Talang Demo", "Lubai", "0812-1111-2223"],
        ["1603016606900002", "Tanpa Telepon", "1990-06-26", "Kaur", "Talang Demo", "Lubai", ""],
        ["1603016606900003", "Salah Lahir", "1991-06-26", "Kaur", "Talang Demo", "Lubai", "0812-1111-2224"],
        ["1603016606900004", "", "1990-06-26", "Kaur", "Talang Demo", "Lubai", "0812-1111-2225"],
    ]
    report = import_officers(
        officers_file(app, rows), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=app.clock()
    )
    assert report.counts.inserted == 1
    assert [(note.row, note.reason) for note in report.rejected] == [
        (3, "this NIK appears earlier in the file"),
        (4, "telepon must be a valid Indonesian number (it proves the officer's chat)"),
        (5, "tanggal_lahir does not match the birth date in the NIK"),
        (6, "nama, jabatan, desa and kecamatan must not be empty"),
    ]
    again = import_officers(
        officers_file(app, rows[:1]), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=app.clock()
    )
    assert (again.counts.inserted, again.counts.updated) == (0, 1)


async def test_linking_needs_the_chats_own_number_and_every_mismatch_reads_the_same(app):
    with_rina(app)
    wrong_phone = Chat(app, channel="telegram", chat_id="901")
    for line in ("halo", "perangkat", RINA_NIK, RINA_BORN):
        await wrong_phone.says(line)
    [typed] = await wrong_phone.send("0812 1111 2222")  # typing is not proof on Telegram
    assert typed.text.startswith('Ketuk tombol "Kirim nomor saya"') and typed.request is not None
    refused, _menu = await wrong_phone.send(contact_phone="+6281299998888")
    wrong_birth = Chat(app, channel="whatsapp", chat_id="6281211112222")
    for line in ("halo", "perangkat", RINA_NIK):
        await wrong_birth.says(line)
    refused_too, _menu = await wrong_birth.send("27-06-1990", sender_phone=RINA_PHONE)
    assert refused.text == refused_too.text and refused.text.startswith("Data tidak cocok dengan daftar perangkat desa")
    right = Chat(app, channel="telegram", chat_id="902")
    for line in ("halo", "perangkat", RINA_NIK, RINA_BORN):
        await right.says(line)
    linked, _menu = await right.send(contact_phone=RINA_PHONE)
    assert linked.text.startswith("Terhubung sebagai Sekretaris desa")
    await right.run(f"""
        > menu
        {OFFICER_MENU}
        > perangkat
        Chat ini sudah terhubung sebagai Sekretaris desa, Desa Talang Demo.
    """)


def waiting_in(app, chat_id: str) -> tuple[str, str, dict]:
    """The flow and step a chat's session waits in, and its draft."""
    with app.db.transaction() as session:
        state = session.exec(
            select(ConversationState)
            .join(ChatRow, ChatRow.id == ConversationState.chat_pk)
            .where(ChatRow.chat_id == chat_id)
        ).one()
        return state.flow, state.step, state.data


async def test_an_officer_reports_for_a_resident_of_their_own_village_only(app):
    with_rina(app)
    chat = await linked_rina(app)
    await chat.run("""
        > Lapor untuk warga
        Ketik NIK warga yang mengalami kejadian.
    """)
    # A hand-off: the session waits in the incident flow's own step, its draft preset.
    assert waiting_in(app, chat.chat_id) == ("incident", "got_resident_nik", {"files": [], "for_resident": True})
    await chat.run(f"""
        > {SITI_NIK}
        NIK itu tidak ada di daftar warga desa Talang Demo.
        > 1603010503800099
        NIK itu tidak ada di daftar warga desa Talang Demo.
        > {BUDI_NIK}
        Apa yang terjadi?
        > 1
        > kemarin
        > Kebun sawit
        > {CHRONOLOGY}
    """)
    await chat.send(choice="files_done", sender_phone=RINA_PHONE)
    [summary] = await chat.send(choice="this_number", sender_phone=RINA_PHONE)
    assert "1. Yang mengalami: Budi Santoso, NIK 1603********0001 (Perangkat desa)" in summary.text
    filed = "\n".join(reply.text for reply in await chat.send(choice="submit"))
    assert "Peserta terdaftar dan terlindungi pada tanggal kejadian." in filed  # their officer may know
    with app.db.transaction() as session:
        [report] = incidents.reports(session)
    assert (report.affected, report.relation, report.covered, report.phone) == (
        "other",
        "village_officer",
        True,
        RINA_PHONE,
    )


async def test_the_officer_follows_residents_reports_and_sees_the_village(app):
    with_rina(app)
    budi = Chat(app, chat_id="budi")
    for line in (
        *own_report(),
        "1",
        "menu",
        "1",
        BUDI_NIK,
        BUDI_BORN,
        "ya",
    ):
        await budi.says(line)
    chat = await linked_rina(app)
    await chat.run("""
        > menu
        > Status laporan
        Belum ada laporan dari chat ini.
        > LK-2026-000001
        Laporan LK-2026-000001
        Status: Diterima
        > menu
        > Rekap desa
        Rekap desa Talang Demo, Kec. Lubai
        Peserta terdaftar: 4
        • Perangkat desa: 4
        • 31 Maret 2026: 1
        • 27 November 2026: 1
        • 31 Desember 2026: 1
        • 31 Maret 2027: 1
        • Diterima: 1
        Belum berlangganan pengingat: 3 orang
    """)
    with app.db.transaction() as session:
        changed = incidents.set_status(
            session, reference="LK-2026-000001", status="diproses", note=None, actor="cli:op", now=app.clock()
        )
        app.notices.status_changed(session, report=changed, note=None, now=app.clock())
        told = sorted(row.body for row in session.exec(select(OutboxMessage)).all() if row.kind == "notice")
    assert (
        told == ["Kabar laporan LK-2026-000001: statusnya sekarang Diproses BPJS Ketenagakerjaan."] * 2
    )  # Budi and Rina

    with app.db.transaction() as session:
        [(officer, chats)] = officers(session)
        assert chats == 1 and unlink(session, officer_id=officer.id, by="cli:op", now=app.clock()) == 1
    await chat.run("""
        > menu
        [Cek kepesertaan | Lapor kejadian | Status laporan | Pengingat | Bantuan | Bahasa/Language |
         Bicara dengan petugas]
        > Status laporan
        > LK-2026-000001
        Laporan itu tidak bisa ditampilkan di chat ini.
    """)


async def test_a_linked_officer_gets_one_digest_per_stage_and_none_once_unlinked(app):
    with_rina(app)
    officer = Chat(app, chat_id="rina")
    for line in ("halo", "perangkat", RINA_NIK, RINA_BORN, "0812 1111 2222"):
        await officer.says(line)
    for chat_id, (nik, born) in {"budi": (BUDI_NIK, BUDI_BORN), "akhir": ("1603010303910005", "03-03-1991")}.items():
        person = Chat(app, chat_id=chat_id)
        for line in ("halo", "1", nik, born, "ya"):
            await person.says(line)
    printed = io.StringIO()
    reminders = app.drainer({"console": ConsoleChannel(app.dispatcher, app.sending, chat_id="-", output=printed)})
    app.planner().plan(app.clock())
    assert app.planner().plan(app.clock()) == Counter()  # planned once
    december = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Muara Enim: the 30-day stage of 31 December
    # Budi's reminder and Rina's digest. The last two stages of the cover that ended on 27 November
    # (Akhir's reminders and that period's digests) are stale by now.
    assert await reminders.drain(december) == {"sent": 2, "skipped": 4}
    digest = printed.getvalue().split("[rina]\n")[1]
    assert digest.startswith(
        "Rekap pengingat desa Talang Demo: perlindungan BPJS Ketenagakerjaan 1 warga berakhir "
        "31 Desember 2026, 30 hari lagi.\n0 di antaranya belum menerima pengingat"
    )
    assert await reminders.drain(december) == Counter()  # once per stage
    with app.db.transaction() as session:
        [(found, _chats)] = officers(session)
        unlink(session, officer_id=found.id, by="cli:op", now=app.clock())
    two_weeks_on = datetime(2026, 12, 17, 2, 0, tzinfo=UTC)
    assert await reminders.drain(two_weeks_on) == {"sent": 1, "skipped": 1}  # Budi's 14-day stage; no digest


async def test_an_officer_ticks_documents_adds_files_and_notes_to_a_residents_claim(app):
    with_rina(app)
    budi = Chat(app, chat_id="budi")
    for line in (*own_report("4"), "1"):
        await budi.says(line)
    app.settings.telegram = app.settings.telegram.model_copy(update={"operator_chat_id": -100200300})
    chat = await linked_rina(app)
    await chat.run("""
        > menu
        > Klaim warga
        Klaim warga. Pilih laporan:
        [LK-2026-000001 Budi Santoso]
        > 1
        Klaim LK-2026-000001 (Budi Santoso)
        Dokumen siap: 0 dari 8
        ☐ kartu peserta BPJS Ketenagakerjaan
        ☐ akta kematian
    """)
    [tick] = await chat.send("1")
    assert tick.text == "✓ kartu peserta BPJS Ketenagakerjaan (1 dari 8 siap)"  # one line, not the list again
    assert tick.choices[0].title == "✓ kartu peserta BPJS Ketenagakerjaan" and len(tick.choices) == 11
    await chat.run("""
        > akta kematian
        ✓ akta kematian (atau surat keterangan kematian dari desa atau rumah sakit) (2 dari 8 siap)
        > 4
        ☐ akta kematian (atau surat keterangan kematian dari desa atau rumah sakit) (1 dari 8 siap)
        > kartu
        Silakan pilih salah satu tombol
        Dokumen siap: 1 dari 8
        > Tambah catatan
        Ketik catatan untuk petugas
        > ok
        Catatan harus 3 sampai 500 huruf.
        > Surat ahli waris sedang dibuat kepala desa.
        Catatan disimpan.
        > Tambah lampiran
    """)
    await chat.send(media=(Media(path="/m/kk.jpg", sha256="b" * 64, mime_type="image/jpeg", size=5),))
    await chat.run("""
        > selesai
        Dokumen siap: 1 dari 8
        > Selesai
        Klaim LK-2026-000001 disimpan. Petugas diberi tahu perubahannya.
    """)
    with app.db.transaction() as session:
        found = incidents.report(session, reference="LK-2026-000001")
        assert incidents.ticked(session, incident_id=found.id) == {"kartu peserta BPJS Ketenagakerjaan"}
        assert [text for _author, text, _at in incidents.notes(session, incident_id=found.id)] == [
            "Surat ahli waris sedang dibuat kepala desa."
        ]
        assert len(incidents.attachments(session, incident_id=found.id)) == 1
        [told] = [row.body for row in session.exec(select(OutboxMessage)).all() if "INFO KLAIM" in (row.body or "")]
    assert told == (
        "INFO KLAIM LK-2026-000001 dari perangkat desa Rina Wati:\n✓ kartu peserta BPJS Ketenagakerjaan\n"
        "✓ akta kematian (atau surat keterangan kematian dari desa atau rumah sakit)\n"
        "☐ akta kematian (atau surat keterangan kematian dari desa atau rumah sakit)\n"
        "Catatan: Surat ahli waris sedang dibuat kepala desa.\n1 berkas baru"
    )


async def test_the_claim_menu_shows_only_the_officers_own_village(app):
    with_rina(app)
    siti = Chat(app, chat_id="siti")
    for line in (*own_report(nik=SITI_NIK, born="05-12-1985"), "1"):
        await siti.says(line)
    chat = await linked_rina(app)
    await chat.run("""
        > menu
        > Klaim warga
        Belum ada laporan terbuka tentang warga desa Talang Demo.
    """)


def test_officers_villages_are_matched_however_the_list_spells_them(app):
    rows = [
        [RINA_NIK, "Rina Wati", "1990-06-26", "Sekretaris desa", "DESA talang-demo", "Kec. LUBAI", "0812-1111-2222"],
        ["1603014707880002", "Ani", "1988-07-07", "Kaur umum", "Talang Baru", "Lubai", "0812-3333-4444"],
    ]
    report = import_officers(
        officers_file(app, rows), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=app.clock()
    )
    assert [(note.row, note.reason) for note in report.warnings] == [
        (3, "desa Talang Baru, kecamatan Lubai has no residents in the roster")
    ]
    with app.db.transaction() as session:
        places = sorted((officer.village, officer.district) for officer, _chats in officers(session))
    assert places == [("Talang Baru", "Lubai"), ("Talang Demo", "Lubai")]


async def test_an_officer_linking_after_the_roster_spelled_their_village_anew_still_sees_it(app):
    with_rina(app)
    with app.db.transaction() as session:  # a new roster import wrote the village in capitals
        session.exec(update(Participant).where(Participant.village == "Talang Demo").values(village="TALANG DEMO"))
    chat = await linked_rina(app)
    await chat.run("""
        > rekap
        Rekap desa TALANG DEMO, Kec. Lubai
        Peserta terdaftar: 4
    """)


@pytest.fixture
def crowded_village(tmp_path, sqlite_url, clock):
    """Talang Demo with twelve more residents, one of them an RT head."""
    more = [
        person(
            nik=f"160301010180{n:04d}",
            nama=f"Warga {n:02d}",
            tanggal_lahir="1980-01-01",
            kategori="RT/RW" if n == 12 else "linmas",
        )  # fmt: skip
        for n in range(1, 13)
    ]
    app = build(tmp_path, sqlite_url, clock, roster=[*ROSTER, *more])
    yield app
    app.close()


async def test_the_village_summary_lists_who_gets_no_reminders_a_page_at_a_time(crowded_village):
    app = crowded_village
    with_rina(app)
    budi = Chat(app, chat_id="budi")
    for line in ("halo", "cek", BUDI_NIK, BUDI_BORN, "ya"):
        await budi.says(line)
    chat = await linked_rina(app)
    await chat.run("""
        > Rekap desa
        Peserta terdaftar: 16
        • Ketua RT/RW: 1
        Belum berlangganan pengingat: 15 orang
        [Lihat yang belum berlangganan | Kembali ke menu]
        > 1
        Warga Talang Demo yang belum mendapat pengingat.
        1. Akhir Hari (Perangkat desa)
        2. Baru Nanti (Perangkat desa)
        3. Lama Selesai (Perangkat desa)
        4. Warga 01 (Linmas)
        10. Warga 07 (Linmas)
        [Berikutnya | Kembali ke menu]
        > berikutnya
        11. Warga 08 (Linmas)
        15. Warga 12 (Ketua RT/RW)
        [Kembali ke menu]
        > 1
        Ada lagi yang bisa dibantu?
    """)
    said = reply_text(await chat.send("rekap")) + reply_text(await chat.send("1"))
    assert "Budi Santoso" not in said  # he asked to be reminded
