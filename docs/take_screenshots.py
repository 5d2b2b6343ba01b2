"""The README's console screenshots, taken in Debian's chromium from the
tests' console world (a few reports more, a tick, a note, a status change).

    .venv/bin/python docs/take_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from bot.console.routes import console_site  # noqa: E402
from bot.ops.reports import add_note, change_status, toggle_document  # noqa: E402
from bot.web import build_web  # noqa: E402
from storage import helpdesk, whatsapp_templates  # noqa: E402
from storage.chats import open_chat  # noqa: E402
from storage.participants import find_participant  # noqa: E402
from storage.subscriptions import subscribe  # noqa: E402
from tests.conftest import ADMIN, BUDI, SITI, FrozenClock, build  # noqa: E402
from tests.console_world import ACCOUNTS, PASSWORD, file_report, seed  # noqa: E402
from tests.servers import served_in_thread  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = FrozenClock()
        app = build(Path(folder), f"sqlite:///{folder}/shots.db", clock)
        references = seed(app)
        hasher = app.services.hasher
        for kind, who in (("commute_accident", BUDI), ("occupational_disease", SITI), ("work_death", BUDI)):
            clock.advance(hours=20)
            file_report(app, nik_hash=hasher.nik_hash(who["nik"]), chat_id="502", kind=kind)
        with app.db.transaction() as session:
            budi = references["budi"]
            toggle_document(session, actor=ADMIN, reference=budi, item="e-KTP", now=clock())
            add_note(session, actor=ADMIN, reference=budi, text="Keluarga sudah ditelepon.", now=clock())
            change_status(
                session, actor=ADMIN, reference=budi, status="diverifikasi", note=None, notices=app.notices, now=clock()
            )
            chat, _ = open_chat(session, channel="telegram", chat_id="503", language="id", now=clock())
            thread_id, _ = helpdesk.open_thread(session, chat_pk=chat.id, now=clock())
            for author, text in (
                ("person", "Pak, nama saya di daftar tertulis Siti Aminah, harusnya Siti Aminah Lubis."),
                ("console:oki", "Baik Bu, kami teruskan ke Dinas PMD. Mohon kirim foto e-KTP."),
                ("person", "Ini fotonya pak."),
            ):
                helpdesk.add_message(session, thread_id=thread_id, author=author, text=text, now=clock())
            for number, (channel, who) in enumerate((("telegram", BUDI), ("whatsapp", SITI), ("whatsapp", BUDI))):
                follower, _ = open_chat(
                    session, channel=channel, chat_id=f"62812000{number}", language="id", now=clock()
                )
                person = find_participant(session, nik_hash=hasher.nik_hash(who["nik"]))
                subscribe(session, chat=follower, participant_id=person.id, now=clock())
            # Meta has approved the announcement template in Indonesian: the preview shows its words.
            whatsapp_templates.record(session, [("payung_pengumuman", "id", "APPROVED", None)], now=clock())
        clock.advance(days=2)  # the WhatsApp chats wrote two days ago: past the 24 hours
        with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                page.goto(f"{url}/console/login")
                page.get_by_label("Nama akun").fill(ACCOUNTS["operator"][0])
                page.get_by_label("Kata sandi").fill(PASSWORD)
                page.get_by_role("button", name="Masuk").click()
                page.wait_for_url("**/console/dashboard")
                page.screenshot(path=HERE / "console-dashboard.png", full_page=True)
                page.goto(f"{url}/console/reports/{references['budi']}")
                page.screenshot(path=HERE / "console-report.png", full_page=True)
                page.goto(f"{url}/console/helpdesk/1")
                page.screenshot(path=HERE / "console-helpdesk.png", full_page=True)
                page.goto(f"{url}/console/announcements")
                page.get_by_label("Pesan (Bahasa Indonesia)").fill(
                    "Perlindungan BPJS Ketenagakerjaan dari Pemkab diperpanjang sampai 31 Desember 2027. "
                    "Tidak perlu daftar ulang."
                )
                page.get_by_role("button", name="Lihat pratinjau").click()
                page.screenshot(path=HERE / "console-announcement.png", full_page=True)
                browser.close()
        app.close()


if __name__ == "__main__":
    main()
