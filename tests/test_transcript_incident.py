"""Lapor kejadian and Status laporan, as people will use them."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from bot.app import build_app
from handlers.messages import Location, Media
from storage import incidents
from storage.models import Incident, IncidentAttachment, LookupAttempt
from tests.test_cli import payung
from tests.transcript import Chat

MENU = (
    "[Cek kepesertaan | Lapor kejadian | Status laporan | Pengingat | Bantuan | Bahasa/Language | "
    "Bicara dengan petugas]"
)
KINDS = (
    "[Kecelakaan saat bekerja | Kecelakaan dalam perjalanan kerja | Penyakit akibat kerja | "
    "Meninggal karena kecelakaan kerja | Meninggal bukan karena kecelakaan kerja]"
)
BUDI_NIK, BUDI_BORN = "1603010503800001", "05-03-1980"
SITI_NIK, SITI_BORN = "1603024512850002", "05-12-1985"
CHRONOLOGY = "Jatuh dari pohon sawit saat memanen, kaki kanan patah."


def own_report(kind: str = "1", *, nik: str = BUDI_NIK, born: str = BUDI_BORN, chronology: str = CHRONOLOGY):
    """What a person types to report their own accident, up to its summary."""
    return ("halo", "2", "1", nik, born, kind, "kemarin", "Kebun", chronology, "selesai", "081234567890")


def photo(number: int) -> Media:
    return Media(
        path=f"/data/media/console/{number:064x}.jpg", sha256=f"{number:064x}", mime_type="image/jpeg", size=1000
    )


def filed(app) -> list[Incident]:
    with app.db.transaction() as session:
        return list(session.exec(select(Incident).order_by(Incident.id)).all())


async def test_a_worker_reports_their_own_accident_changes_the_date_and_sends(app):
    chat = Chat(app)
    await chat.run(f"""
        > halo
        > 2
        Laporan kejadian. Siapa yang mengalami?
        [Saya sendiri | Orang lain]
        > Saya sendiri
        Ketik NIK Anda
        > {BUDI_NIK}
        Sekarang ketik tanggal lahir Anda.
        > {BUDI_BORN}
        Apa yang terjadi?
        {KINDS}
        > 1
        Kapan kejadiannya?
        [Hari ini | Kemarin]
        > kemarin
        Di mana kejadiannya?
        > Kebun sawit Desa Talang Demo, Lubai
        Ceritakan singkat kejadiannya (kronologi)
        > {CHRONOLOGY}
        Kirim foto atau dokumen pendukung
        [Selesai]
    """)
    await chat.run(
        """
        > selesai
        Nomor telepon yang bisa dihubungi petugas?
        > 0812-3456-7890
        Periksa laporan Anda:
        1. Yang mengalami: Saya sendiri, NIK 1603********0001
        2. Kejadian: Kecelakaan saat bekerja
        3. Tanggal: 26 November 2026
        4. Tempat: Kebun sawit Desa Talang Demo, Lubai
        5. Cerita kejadian: Jatuh dari pohon sawit
        6. Lampiran: 0 berkas
        7. Telepon: +6281234567890
        [Kirim laporan | Ubah]
        > Ubah
        Bagian mana yang mau diubah?
        [Yang mengalami | Kejadian | Tanggal | Tempat | Cerita kejadian | Lampiran | Telepon]
        > Tanggal
        Kapan kejadiannya?
        > 15-09-2026
        Catatan: tanggal itu di luar periode perlindungan (1 Oktober 2026 – 31 Desember 2026)
        Periksa laporan Anda:
        3. Tanggal: 15 September 2026
        7. Telepon: +6281234567890
        > Kirim laporan
        Laporan terkirim. Nomor laporan: LK-2026-000001
        Pada tanggal kejadian, peserta tidak dalam periode perlindungan.
        Petugas akan menghubungi +6281234567890.
        Siapkan dokumen ini:
        formulir Tahap I
        surat keterangan dokter
        Ada lagi yang bisa dibantu?
        {MENU}
    """.replace("{MENU}", MENU)
    )
    [report] = filed(app)
    assert (report.affected, report.kind, report.occurred_on, report.covered) == (
        "self",
        "work_accident",
        date(2026, 9, 15),
        False,
    )
    assert report.nik_masked == "1603********0001" and report.participant_id is not None
    assert report.status == "diterima" and report.phone == "+6281234567890"


async def test_a_neighbour_reports_a_death_on_whatsapp_with_location_and_files(app):
    chat = Chat(app, channel="whatsapp", chat_id="6281299990000")
    number = "+6281299990000"
    for line in ("halo", "2", "Orang lain"):
        await chat.says(line)
    await chat.run(f"""
        > {SITI_NIK}
        Ketik nama lengkapnya sesuai e-KTP.
        > Siti Aminah
        Apa hubungan Anda dengannya?
        [Suami/istri | Anak | Orang tua | Saudara | Keluarga lain | Tetangga | Rekan kerja | Perangkat desa | Lainnya]
        > tetangga
        Apa yang terjadi?
        > Meninggal bukan karena kecelakaan kerja
        Kami turut berduka cita.
        Kapan kejadiannya?
        > hari ini
        Di mana kejadiannya?
    """)
    located = await chat.send(location=Location(-3.65, 103.77), sender_phone=number)
    assert "Ceritakan singkat kejadiannya (kronologi)" in located[0].text
    await chat.send("Meninggal mendadak di rumah pada pagi hari.", sender_phone=number)
    for count in range(1, 6):
        [received] = await chat.send(media=(photo(count),), sender_phone=number)
        assert f"Diterima ({count} dari 5)" in received.text
    [full] = await chat.send(media=(photo(6),), sender_phone=number)
    assert full.text.startswith("Sudah 5 berkas, itu batasnya.")
    [asked] = await chat.send(choice="files_done", sender_phone=number)
    assert asked.text == f"Petugas bisa menghubungi nomor ini: {number}?"
    summary = await chat.send(choice="this_number", sender_phone=number)
    assert "1. Yang mengalami: Siti Aminah, NIK 1603********0002 (Tetangga)" in summary[0].text
    assert "4. Tempat: Lokasi dibagikan" in summary[0].text and "6. Lampiran: 5 berkas" in summary[0].text
    done = "\n".join(reply.text for reply in await chat.send(choice="submit", sender_phone=number))
    assert done.startswith("Kami turut berduka cita atas kepergian Siti Aminah.\nLaporan sudah kami terima.")
    assert "Nomor laporan: LK-2026-000001" in done and "Petugas akan memeriksa data kepesertaannya." in done
    assert "ahli waris" in done and "Berobat" not in done and "PLKK" not in done  # no treatment advice after a death
    assert "terlindungi" not in done and "Guru ngaji" not in done  # nothing about Siti to a neighbour
    assert "akta kematian" in done and "surat keterangan ahli waris" in done
    [report] = filed(app)
    assert (report.affected, report.relation, report.covered, report.phone) == ("other", "neighbour", True, number)
    assert (report.latitude, report.longitude) == (-3.65, 103.77)
    with app.db.transaction() as session:
        assert len(session.exec(select(IncidentAttachment)).all()) == 5


async def test_every_validation_failure_explains_and_asks_again(app):
    chat = Chat(app)
    await chat.run(f"""
        > halo
        > 2
        > 2
        > 1603 0105 0380
        NIK harus 16 angka.
        > {SITI_NIK}
        > S
        Nama harus 2 sampai 200 huruf.
        > Siti Aminah
        > Keluarga lain
        > 1
        > 01-01-2027
        Tanggal kejadian tidak boleh di masa depan.
        > 31-02-2026
        Tanggal itu tidak ada di kalender.
        > 20 November 2026
        > ab
        Tulis tempatnya dengan 3 sampai 300 huruf
        > Jalan desa Karang Demo
        > jatuh
        Ceritanya terlalu singkat.
        > {"kata " * 201}
        Kronologi terlalu panjang (1004 huruf, paling banyak 1.000).
        > {CHRONOLOGY}
        > halo semua
        Kirim foto atau dokumen, atau pilih "Selesai" untuk lanjut.
        > 1
        > 12345
        Nomor itu tidak bisa dipakai.
        > +1 202 555 0101
        Nomor itu tidak bisa dipakai.
        > 0812 3456 7890
        Periksa laporan Anda:
    """)
    assert filed(app) == []


async def test_a_reporter_who_cannot_prove_themself_may_report_as_someone_else(app):
    await Chat(app).run(f"""
        > halo
        > 2
        > 1
        > {BUDI_NIK}
        > 05-03-1981
        NIK dan tanggal lahir itu tidak cocok dengan data peserta.
        [Coba lagi | Lapor sebagai orang lain]
        > Lapor sebagai orang lain
        Ketik NIK orang yang mengalami kejadian
    """)
    with app.db.transaction() as session:
        [attempt] = session.exec(select(LookupAttempt)).all()
    assert attempt.outcome == "not_found"


# Where the flow waits, and what to type to get there from the menu.
STEPS = [
    ("who", []),
    ("own NIK", ["1"]),
    ("own birth date", ["1", BUDI_NIK]),
    ("other NIK", ["2"]),
    ("name", ["2", SITI_NIK]),
    ("relation", ["2", SITI_NIK, "Siti Aminah"]),
    ("kind", ["1", BUDI_NIK, BUDI_BORN]),
    ("date", ["1", BUDI_NIK, BUDI_BORN, "1"]),
    ("place", ["1", BUDI_NIK, BUDI_BORN, "1", "kemarin"]),
    ("chronology", ["1", BUDI_NIK, BUDI_BORN, "1", "kemarin", "Kebun"]),
    ("files", ["1", BUDI_NIK, BUDI_BORN, "1", "kemarin", "Kebun", CHRONOLOGY]),
    ("phone", ["1", BUDI_NIK, BUDI_BORN, "1", "kemarin", "Kebun", CHRONOLOGY, "selesai"]),
    ("summary", ["1", BUDI_NIK, BUDI_BORN, "1", "kemarin", "Kebun", CHRONOLOGY, "selesai", "081234567890"]),
    ("field", ["1", BUDI_NIK, BUDI_BORN, "1", "kemarin", "Kebun", CHRONOLOGY, "selesai", "081234567890", "Ubah"]),
]


@pytest.mark.parametrize("step, typed", STEPS, ids=[step for step, _ in STEPS])
async def test_batal_at_every_step_returns_to_the_menu_and_files_nothing(app, step, typed):
    chat = Chat(app)
    for line in ("halo", "2", *typed):
        await chat.says(line)
    await chat.run(f"""
        > batal
        Baik, dibatalkan.
        {MENU}
    """)
    assert filed(app) == []


async def test_a_half_written_report_goes_on_after_a_restart(app):
    chat = Chat(app)
    for line in ("halo", "2", "1", BUDI_NIK, BUDI_BORN, "1", "kemarin"):
        await chat.says(line)
    chat.app = build_app(app.settings, clock=app.clock)  # a new process: only the database carries over
    await chat.run(f"""
        > Kebun sawit
        Ceritakan singkat kejadiannya (kronologi)
        > {CHRONOLOGY}
        > selesai
        > 081234567890
        Periksa laporan Anda:
        3. Tanggal: 26 November 2026
        > 1
        Nomor laporan: LK-2026-000001
    """)
    chat.app.close()


async def file_as(app, chat: Chat, nik: str = BUDI_NIK, born: str = BUDI_BORN) -> None:
    for line in ("halo", "2", "1", nik, born, "1", "kemarin", "Kebun", CHRONOLOGY, "selesai", "081234567890", "1"):
        await chat.says(line)


async def test_the_reporter_follows_the_status_and_its_history(app):
    chat = Chat(app)
    await file_as(app, chat)
    with app.db.transaction() as session:
        incidents.set_status(
            session,
            reference="LK-2026-000001",
            status="diverifikasi",
            note="data cocok",
            actor="cli:operator",
            now=app.clock(),
        )
    await chat.run("""
        > menu
        > Status laporan
        Laporan Anda. Pilih untuk melihat statusnya:
        [LK-2026-000001 | Cari nomor laporan lain]
        > LK-2026-000001
        Laporan LK-2026-000001
        Kecelakaan saat bekerja, 26 November 2026
        Status: Diverifikasi
        • 27 Nov 2026 10:00: Diterima
        • 27 Nov 2026 10:00: Diverifikasi (data cocok)
    """)


async def test_a_stranger_with_a_reference_number_sees_nothing_and_is_asked_for_nothing(app):
    await file_as(app, Chat(app, chat_id="budi"))
    answers = []
    for chat_id, reference in (("a", "LK-2026-000777"), ("b", "lk-2026-000001")):
        chat = Chat(app, chat_id)
        for line in ("halo", "3"):
            await chat.says(line)
        answers.append(await chat.says(reference))
    # The same words for a number that exists and one that does not; no NIK way in.
    assert answers[0] == answers[1] and "Laporan itu tidak bisa ditampilkan di chat ini" in answers[0]
    assert "NIK" not in answers[0] and "Diterima" not in answers[0]


async def test_a_report_keeps_no_nik_in_the_clear(app):
    await file_as(app, Chat(app))
    with app.db.engine.connect() as connection:
        for table in ("incidents", "incident_status_changes", "sessions"):
            dump = repr(connection.execute(text(f"SELECT * FROM {table}")).all())
            assert BUDI_NIK not in dump and "1980-03-05" not in dump, table
    assert "incidents" in inspect(app.db.engine).get_table_names()


@pytest.mark.parametrize(
    "number, kind, document",
    [
        ("1", "work_accident", "surat keterangan dokter"),
        ("2", "commute_accident", "surat keterangan polisi (kecelakaan lalu lintas)"),
        ("3", "occupational_disease", "surat keterangan dokter tentang penyakit akibat kerja"),
        ("4", "work_death", "surat keterangan ahli waris dari kepala desa"),
        ("5", "death", "buku tabungan ahli waris"),
    ],
)
async def test_each_kind_is_filed_with_its_own_documents(app, number, kind, document):
    chat = Chat(app)
    for line in own_report(number):
        await chat.says(line)
    await chat.run(f"""
        > Kirim laporan
        Nomor laporan: LK-2026-000001
        Siapkan dokumen ini:
        {document}
    """)
    [report] = filed(app)
    assert report.kind == kind


async def test_a_half_written_report_waits_a_day_while_other_conversations_wait_half_an_hour(app):
    chat = Chat(app)
    for line in ("halo", "2", "1", BUDI_NIK, BUDI_BORN, "1", "kemarin", "Kebun sawit"):
        await chat.says(line)
    app.clock.advance(hours=3)  # gone to the village office for the doctor's letter
    await chat.run(f"""
        > {CHRONOLOGY}
        Kirim foto atau dokumen pendukung
    """)
    app.clock.advance(hours=25)
    await chat.run(f"""
        > selesai
        Sesi sebelumnya sudah berakhir karena lama tidak ada balasan.
        {MENU}
    """)
    coverage = Chat(app, chat_id="cek")
    for line in ("halo", "1"):
        await coverage.says(line)
    app.clock.advance(minutes=31)
    assert "Sesi sebelumnya sudah berakhir" in await coverage.says(BUDI_NIK)


def voice_note(number: int) -> Media:
    return Media(
        path=f"/data/media/whatsapp/{number:064x}.ogg", sha256=f"{number:064x}", mime_type="audio/ogg", size=4000
    )


async def test_a_voice_note_tells_the_story_and_captions_stay_with_their_files(app, tmp_path):
    chat = Chat(app)
    for line in ("halo", "2", "1", BUDI_NIK, BUDI_BORN, "1", "kemarin"):
        await chat.says(line)
    await chat.run("""
        > Kebun sawit
        Boleh juga kirim pesan suara.
    """)
    [asked_files] = await chat.send(media=(voice_note(1),))
    assert asked_files.text.startswith("Kirim foto atau dokumen pendukung"), asked_files.text
    captioned = replace(photo(2), caption="surat keterangan dokter")
    [received] = await chat.send("surat keterangan dokter", media=(captioned,))
    assert "Diterima (2 dari 5)" in received.text
    await chat.run("""
        > selesai
        > 081234567890
        5. Cerita kejadian: (diceritakan lewat pesan suara, ada di lampiran)
        6. Lampiran: 2 berkas
        > 1
        Nomor laporan: LK-2026-000001
    """)
    with app.db.transaction() as session:
        found = incidents.report(session, reference="LK-2026-000001")
        files = incidents.attachments(session, incident_id=found.id)
    assert [(item.mime_type, item.caption) for item in files] == [
        ("audio/ogg", ""),
        ("image/jpeg", "surat keterangan dokter"),
    ]
    shown = payung(
        tmp_path, "incidents", "show", "LK-2026-000001", env={"PAYUNG_DATABASE_URL": str(app.settings.database_url)}
    )
    assert "(audio/ogg, 4,000 bytes)" in shown.stdout, shown.stderr
    assert "(image/jpeg, 1,000 bytes): surat keterangan dokter" in shown.stdout
    exported = tmp_path / "laporan.csv"
    database = {"PAYUNG_DATABASE_URL": str(app.settings.database_url)}
    payung(tmp_path, "export", "incidents", "--out", str(exported), "--format", "csv", env=database)
    [row] = list(csv.DictReader(exported.open(encoding="utf-8-sig")))
    assert (row["attachments"], row["attachment_captions"]) == ("2", "surat keterangan dokter")
