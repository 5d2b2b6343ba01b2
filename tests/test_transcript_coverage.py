"""Cek kepesertaan, as people will use it."""

from __future__ import annotations

from sqlmodel import select

from storage.models import LookupAttempt, ReminderSubscription
from tests.transcript import Chat

MENU = (
    "[Cek kepesertaan | Lapor kejadian | Status laporan | Pengingat | Bantuan | Bahasa/Language | "
    "Bicara dengan petugas]"
)


async def test_a_covered_worker_on_their_own_number_sees_the_whole_card_and_accepts_reminders(app):
    chat = Chat(app, channel="whatsapp", chat_id="6281234567890", sender_phone="+6281234567890")
    await chat.run(f"""
        > halo
        Halo! Saya Payung
        {MENU}
        > 1
        Ketik NIK Anda (16 angka di e-KTP).
        tidak disimpan
        > 1603 0105 0380 0001
        Sekarang ketik tanggal lahir Anda.
        > 05-03-1980
        Kepesertaan ditemukan.
        Nama: B*** S******
        No. KPJ: *******8901
        Status: AKTIF
        Program: JKK (kecelakaan kerja) dan JKM (kematian)
        Periode: 1 Oktober 2026 – 31 Desember 2026
        Sisa: 34 hari lagi
        Kategori: Perangkat desa
        Desa: Talang Demo, Kec. Lubai
        Mau diingatkan lewat chat ini sebelum perlindungan berakhir?
        [Ya | Tidak]
        > ya
        Baik, dicatat. Pengingat sebelum 31 Desember 2026 mulai terkirim di sini setelah WhatsApp menyetujui
        Ada lagi yang bisa dibantu?
        {MENU}
    """)  # no reminder template approved yet: nothing is promised that cannot go
    with app.db.transaction() as db:
        assert len(db.exec(select(ReminderSubscription)).all()) == 1


async def test_declining_reminders_stores_no_consent(app):
    chat = Chat(app)
    await chat.run("""
        > halo
        > Cek kepesertaan
        > 1603.0245.1285.0002
        > 5 Desember 1985
        NIK ini terdaftar dalam program
        belum ada nomor tercatat
        [Ya | Tidak]
        > 2
        Baik, Anda tidak akan diingatkan.
    """)
    with app.db.transaction() as db:
        assert db.exec(select(ReminderSubscription)).all() == []


async def test_every_accepted_birth_date_form(app):
    for number, typed in enumerate(["05-03-1980", "5/3/1980", "05 Maret 1980", "5 mar 1980", "1980-03-05"]):
        chat = Chat(app, chat_id=f"form-{number}")
        await chat.run(f"""
            > halo
            > 1
            > 1603-0105-0380-0001
            > {typed}
            NIK ini terdaftar dalam program
        """)


async def test_wrong_nik_and_wrong_birth_date_get_the_same_words(app):
    wrong_nik, wrong_birth = Chat(app, "a"), Chat(app, "b")
    for chat, nik in ((wrong_nik, "1603010503800009"), (wrong_birth, "1603010503800001")):
        await chat.says("halo")
        await chat.says("1")
        await chat.says(nik)
    first, second = await wrong_nik.says("05-03-1980"), await wrong_birth.says("05-03-1981")
    assert first == second
    assert "tidak ditemukan" in first and "belum tentu berarti Anda tidak terlindungi" in first
    assert "175" in first and "kantor desa" in first
    assert "Budi" not in first and "B***" not in first


async def test_bad_nik_inputs_are_explained_and_asked_again(app):
    await Chat(app).run("""
        > halo
        > 1
        > abc
        NIK hanya berisi angka. Contoh: 1603 0105 0380 0001
        Ketik "batal" untuk kembali ke menu.
        > 1603 0105 0380 001
        NIK harus 16 angka.
        > 1603013202800001
        angka ke-7 sampai ke-12 harus tanggal lahir
        > 1603010503800000
        4 angka terakhir tidak boleh 0000
        > 1603010503800001
        Sekarang ketik tanggal lahir Anda.
    """)


async def test_bad_birth_dates_are_explained_with_an_example(app):
    await Chat(app).run("""
        > halo
        > 1
        > 1603010503800001
        > 31-02-1980
        Tanggal itu tidak ada di kalender. Contoh yang benar: 05-03-1980.
        > 5-3-198
        Tulis tahun dengan 4 angka.
        > 5 maretz 1980
        Nama bulan tidak dikenal.
        > kemarin sore
        Tanggal tidak bisa dibaca.
        > 01-01-2030
        tidak di masa depan
        > 05-03-1980
        NIK ini terdaftar dalam program
    """)


async def test_ended_not_started_and_last_day_covers(app):
    await Chat(app, "ended").run("""
        > halo
        > 1
        > 1603010101700003
        > 01-01-1970
        Status: SUDAH BERAKHIR
        Perlindungan sudah berakhir pada 31 Maret 2026.
    """)
    await Chat(app, "future").run("""
        > halo
        > 1
        > 1603010202900004
        > 02-02-1990
        Status: BELUM MULAI
        Perlindungan mulai 1 Januari 2027.
    """)
    await Chat(app, "last").run("""
        > halo
        > 1
        > 1603010303910005
        > 03-03-1991
        Status: AKTIF
        Hari ini hari terakhir perlindungan.
    """)


async def test_five_failed_checks_lock_the_chat_for_an_hour(app, clock):
    chat = Chat(app)
    await chat.says("halo")
    for _ in range(5):
        await chat.says("1")
        await chat.says("1603010503800001")
        assert "tidak ditemukan" in await chat.says("01-01-1999")
        clock.advance(minutes=1)
    # 10:05 WIB now; the first failure was at 10:00, so checks reopen at 11:00.
    await chat.run("""
        > 1
        Terlalu banyak percobaan yang tidak cocok.
        bisa dicoba lagi pukul 11.00
    """)
    clock.advance(minutes=56)
    await chat.run("""
        > 1
        Ketik NIK Anda
        > 1603010503800001
        > 05-03-1980
        NIK ini terdaftar dalam program
    """)
    with app.db.transaction() as db:
        outcomes = [a.outcome for a in db.exec(select(LookupAttempt).order_by(LookupAttempt.id))]
    assert outcomes == ["not_found"] * 5 + ["refused", "found"]


async def test_nothing_personal_is_kept_in_the_session(app):
    chat = Chat(app)
    for line in ("halo", "1", "1603010503800001"):
        await chat.says(line)
    with app.db.engine.connect() as connection:
        data = connection.exec_driver_sql("SELECT data FROM sessions").scalar_one()
    assert "1603010503800001" not in data and "nik_hash" in data
