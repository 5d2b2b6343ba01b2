"""Conversations as people in Muara Enim have them: a wrong answer is never a
dead end, and report numbers are found however they are typed."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from handlers.messages import Media
from storage import incidents
from storage.models import OutboxMessage
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK, own_report, photo
from tests.test_transcript_officer import linked_rina, with_rina
from tests.transcript import Chat

WAY_BACK = 'Ketik "batal" untuk kembali ke menu.'
PICK_ONE = "Silakan pilih salah satu tombol, atau ketik nomornya."


async def test_the_reminders_menu_takes_a_number_after_words_it_did_not_expect(app):
    chat = Chat(app)
    for line in ("halo", "1", BUDI_NIK, BUDI_BORN, "ya"):
        await chat.says(line)
    await chat.run(f"""
        > 4
        [Matikan pengingat | Kembali ke menu]
        > 4
        {PICK_ONE}
        {WAY_BACK}
        [Matikan pengingat | Kembali ke menu]
        > ya
        {PICK_ONE}
        [Matikan pengingat | Kembali ke menu]
        > 1
        Baik, Anda tidak akan menerima pengingat lagi dari chat ini.
    """)


async def test_a_report_about_oneself_that_did_not_match_offers_its_choices_again(app):
    await Chat(app).run(f"""
        > halo
        > 2
        > 1
        > {BUDI_NIK}
        > 01-01-1977
        [Coba lagi | Lapor sebagai orang lain]
        > ok
        {PICK_ONE}
        {WAY_BACK}
        [Coba lagi | Lapor sebagai orang lain]
        > 1
        Ketik NIK Anda (16 angka di e-KTP)
    """)


async def test_an_officer_choosing_a_residents_report_can_still_pick_after_typing_a_name(app):
    with_rina(app)
    budi = Chat(app, chat_id="budi")
    for line in (*own_report(), "1"):
        await budi.says(line)
    rina = await linked_rina(app)
    await rina.run(f"""
        > 8
        Klaim warga. Pilih laporan:
        [LK-2026-000001 Budi Santoso]
        > siti
        {PICK_ONE}
        {WAY_BACK}
        [LK-2026-000001 Budi Santoso]
        > 1
        Klaim LK-2026-000001 (Budi Santoso)
    """)


async def test_a_reporter_typing_a_number_not_on_the_list_can_still_pick_their_report(app):
    chat = Chat(app)
    for line in (*own_report(), "1"):
        await chat.says(line)
    await chat.run(f"""
        > 3
        Laporan Anda. Pilih untuk melihat statusnya:
        [LK-2026-000001 | Cari nomor laporan lain]
        > 3
        {PICK_ONE}
        {WAY_BACK}
        [LK-2026-000001 | Cari nomor laporan lain]
        > 1
        Laporan LK-2026-000001
    """)


async def test_report_numbers_are_found_however_they_are_typed(app):
    chat = Chat(app)
    for line in (*own_report(), "1"):
        await chat.says(line)
    for typed in ("LK 2026 000001", "lk-2026-1", "lk2026000001"):
        await chat.run(f"""
            > menu
            > 3
            > 2
            Ketik nomor laporan.
            > {typed}
            Laporan LK-2026-000001
        """)


async def test_after_reading_what_to_do_after_an_accident_the_report_is_one_tap_away(app):
    await Chat(app).run("""
        > halo
        > bantuan
        > 4
        Laporan yang terlambat tetap diterima.
        [Apa itu JKK? | Apa itu JKM? | Siapa yang dilindungi? |
         Jika terjadi kecelakaan | Hubungi petugas | Kembali ke menu | Lapor kejadian | Setelah 31 Desember |
         Bicara dengan petugas]
        > 7
        Laporan kejadian. Siapa yang mengalami?
    """)


async def test_leaving_a_half_written_report_says_it_was_not_kept(app):
    await Chat(app).run(f"""
        > halo
        > lapor
        > 1
        > {BUDI_NIK}
        > batal
        Baik, dibatalkan.
        Laporan yang belum dikirim tidak disimpan.
        > 2
        > menu
        Laporan yang belum dikirim tidak disimpan.
        > 1
        > menu
        Silakan pilih
    """)


KIND_BUTTONS = """[Kecelakaan saat bekerja | Kecelakaan dalam perjalanan kerja | Penyakit akibat kerja |
         Meninggal karena kecelakaan kerja | Meninggal bukan karena kecelakaan kerja]"""


async def test_asking_for_help_in_the_middle_of_a_report_comes_back_to_the_same_question(app):
    await Chat(app).run(f"""
        > halo
        > lapor
        > 1
        > {BUDI_NIK}
        > {BUDI_BORN}
        Apa yang terjadi?
        > tolong
        Bantuan. Pilih topik:
        > 2
        JKM (Jaminan Kematian)
        > 6
        Laporan Anda belum dikirim dan masih disimpan. Lanjutkan?
        [Lanjutkan laporan | Batalkan]
        > lanjut
        Baik, kita lanjutkan laporan Anda.
        Apa yang terjadi?
        {KIND_BUTTONS}
        > 1
        Kapan kejadiannya?
    """)


async def test_a_report_is_one_tap_away_from_help_even_with_a_draft_waiting(app):
    # "Lapor kejadian" from the help topic goes on with the parked draft, not a new one.
    await Chat(app).run(f"""
        > halo
        > 2
        > 1
        > {BUDI_NIK}
        > {BUDI_BORN}
        > 1
        Kapan kejadiannya?
        > bantuan
        > 4
        > 7
        Kapan kejadiannya?
        > kemarin
        Di mana kejadiannya?
    """)


async def test_switching_language_mid_report_asks_the_waiting_question_in_the_new_language(app):
    await Chat(app).run(f"""
        > halo
        > 2
        > 1
        > {BUDI_NIK}
        > {BUDI_BORN}
        Apa yang terjadi?
        > bahasa
        [Bahasa Indonesia | English]
        > 2
        OK, we will continue in English.
        What happened?
        > english
        What happened?
        > bahasa indonesia
        Baik, kita lanjut dalam Bahasa Indonesia.
        Apa yang terjadi?
        > 1
        Kapan kejadiannya?
    """)


async def test_a_parked_report_is_dropped_only_when_the_person_says_so(app):
    await Chat(app).run(f"""
        > halo
        > 2
        > 2
        > 1603051306770001
        > Siti Aminah
        Apa hubungan Anda
        > bantuan
        > kembali ke menu
        [Lanjutkan laporan | Batalkan]
        > mungkin
        {PICK_ONE}
        {WAY_BACK}
        [Lanjutkan laporan | Batalkan]
        > batalkan
        Laporan yang belum dikirim tidak disimpan.
        Ada lagi yang bisa dibantu?
        > bantuan
        Bantuan. Pilih topik:
        > 6
        Ada lagi yang bisa dibantu?
    """)


async def test_leaving_a_report_for_something_else_says_the_draft_is_dropped(app):
    await Chat(app).run(f"""
        > halo
        > 2
        > 1
        > {BUDI_NIK}
        > bantuan
        > berhenti
        Laporan yang belum dikirim tidak disimpan.
        Baik, Anda tidak akan menerima pengingat lagi
    """)


async def test_a_widow_reporting_late_is_met_with_condolences_and_the_heirs_next_steps(app):
    chat = Chat(app)
    await chat.run("""
        > meninggal
        Laporan kejadian. Siapa yang mengalami?
        > orang lain
        > 1603 0105 0380 0001
        > Budi Santoso
        Apa hubungan Anda dengannya?
        > istri
        Apa yang terjadi?
        > 5
        Kami turut berduka cita.
        Kapan kejadiannya?
        > 2 minggu lalu
        Di mana kejadiannya?
        > Di rumah, Desa Talang Demo
        > Meninggal dunia saat tidur malam hari.
        > selesai
        > 0812 3456 7890
        1. Yang mengalami: Budi Santoso, NIK 1603********0001 (Suami/istri)
        > kirim
        Kami turut berduka cita atas kepergian Budi Santoso.
        Laporan sudah kami terima. Nomor laporan: LK-2026-000001
        Santunan dibayarkan kepada ahli waris
        akta kematian
    """)
    told = "\n".join(reply.text for reply in await chat.send("status")) + chat.app.services.catalogue["id"](
        "incident.next_steps_death", phone="-"
    )
    for frightening in ("2 x 24", "terlambat", "berobat", "Berobat"):
        assert frightening not in told


async def test_right_after_consent_the_reminders_menu_says_when_the_next_one_comes(app):
    chat = Chat(app)
    for line in ("halo", "cek", BUDI_NIK, BUDI_BORN):
        await chat.says(line)
    await chat.run("""
        > iya
        Baik, kami akan mengingatkan Anda sebelum 31 Desember 2026.
        > pengingat
        Pengingat berikutnya sekitar 1 Desember 2026.
        [Matikan pengingat | Kembali ke menu]
    """)


async def test_a_reporter_sends_the_death_certificate_days_after_the_report(app):
    app.settings.telegram = app.settings.telegram.model_copy(update={"operator_chat_id": -100200300})
    widow = Chat(app, chat_id="widow")
    for line in ("lapor", "2", "1603010503800001", "Budi Santoso", "istri", "5", "kemarin", "Di rumah"):
        await widow.says(line)
    for line in ("Meninggal dunia saat tidur malam hari.", "selesai", "081234567890", "kirim"):
        await widow.says(line)
    app.clock.advance(days=3)
    await widow.run("""
        > status
        [LK-2026-000001 | Cari nomor laporan lain]
        > 1
        Laporan LK-2026-000001
        Status: Diterima
        [Kirim dokumen susulan | Kembali ke menu]
        > kirim dokumen susulan
        misalnya akta kematian
        [Selesai]
    """)
    certificate = replace(photo(7), caption="akta kematian")
    [received] = await widow.send("akta kematian", media=(certificate,))
    assert "Diterima (1 dari 5)" in received.text
    await widow.run("""
        > selesai
        Terima kasih. 1 berkas ditambahkan ke laporan LK-2026-000001; petugas sudah diberi tahu.
    """)
    with app.db.transaction() as session:
        found = incidents.report(session, reference="LK-2026-000001")
        assert [item.caption for item in incidents.attachments(session, incident_id=found.id)] == ["akta kematian"]
        [notice] = [row for row in session.exec(select(OutboxMessage)).all() if "DOKUMEN SUSULAN" in row.body]
    assert notice.body == "DOKUMEN SUSULAN LK-2026-000001 dari pelapor: 1 berkas\n• akta kematian"
    assert [Media.from_json(item).caption for item in notice.attachments] == ["akta kematian"]


async def test_the_residents_village_officer_can_send_documents_for_a_report_too(app):
    app.settings.telegram = app.settings.telegram.model_copy(update={"operator_chat_id": -100200300})
    with_rina(app)
    budi = Chat(app, chat_id="budi")
    for line in (*own_report("4"), "1"):
        await budi.says(line)
    rina = await linked_rina(app)
    await rina.says("status")
    await rina.run("""
        > LK-2026-000001
        [Kirim dokumen susulan | Kembali ke menu]
        > 1
    """)
    await rina.send(media=(photo(8),))
    await rina.run("""
        > selesai
        1 berkas ditambahkan
    """)
    with app.db.transaction() as session:
        bodies = [row.body for row in session.exec(select(OutboxMessage)).all()]
    assert "DOKUMEN SUSULAN LK-2026-000001 dari perangkat desa Rina Wati: 1 berkas" in bodies
