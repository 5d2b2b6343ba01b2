"""Announcements from the console: previewed, then sent to exactly the
consenting chats of a kecamatan, once each, in their language, at the
reminders' hours, through drainer processes that are killed midway."""

from __future__ import annotations

import asyncio
import html
import io
import random
import re
import signal
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.console import ConsoleChannel
from bot.console.routes import console_site
from bot.web import build_web
from storage import whatsapp_templates
from storage.chats import open_chat, set_language
from storage.subscriptions import set_consent
from storage.tables import CHATS, OUTBOX, PARTICIPANTS, SUBSCRIPTIONS
from tests.browser import launched, needs_chromium, signed_in
from tests.conftest import build
from tests.console_world import log_in, make_accounts
from tests.servers import served_in_thread
from tests.test_reminders import STAGE_TIMES, consenting, drainer, drainer_env

playwright = pytest.importorskip("playwright.async_api")
ID_TEXT = "Perlindungan BPJS Ketenagakerjaan diperpanjang sampai 31 Desember 2027."
EN_TEXT = "Your BPJS Ketenagakerjaan cover is extended to 31 December 2027."


def lubai_chats(app) -> dict[str, str]:
    """The consenting chats following someone in Lubai: chat id -> language."""
    with app.db.transaction() as session:
        rows = session.connection().execute(
            select(CHATS.c.chat_id, CHATS.c.language)
            .distinct()
            .join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.chat_pk == CHATS.c.id)
            .join(PARTICIPANTS, PARTICIPANTS.c.id == SUBSCRIPTIONS.c.participant_id)
            .where(PARTICIPANTS.c.district == "Lubai", SUBSCRIPTIONS.c.active.is_(True))
        )
        return dict(rows.all())


def announce(url: str, role: str, **fields) -> str:
    browser, token = log_in(url, role)
    form = {"csrf": token, "text_id": ID_TEXT, "text_en": EN_TEXT, "district": "Lubai", **fields}
    preview = browser.post("/console/announcements/preview", data=form)
    assert browser.post("/console/announcements/send", data=form).status_code == 303
    return preview.text


async def announce_in_browser(url: str, expected: dict[str, str]) -> None:
    """An operator writes it to Lubai in chromium, checks the preview, sends."""
    async with playwright.async_playwright() as driver:
        browser = await launched(driver)
        page = await signed_in(browser, url, "operator")
        await page.get_by_role("link", name="Pengumuman").click()
        await page.get_by_label("Pesan (Bahasa Indonesia)").fill(ID_TEXT)
        await page.get_by_label("Pesan dalam bahasa Inggris").fill(EN_TEXT)
        await page.get_by_label("Kecamatan").select_option("Lubai")
        await page.get_by_role("button", name="Lihat pratinjau").click()
        await page.get_by_text(f"Akan dikirim ke {len(expected)} chat").wait_for()
        english = sum(language == "en" for language in expected.values())
        cards = {await card.locator("figcaption").inner_text(): await card.locator(".story").inner_text()
                 for card in await page.locator("figure.rendition").all()}  # fmt: skip
        assert cards == {
            f"Telegram · Bahasa Indonesia · {len(expected) - english} chat": ID_TEXT,
            f"Telegram · Inggris · {english} chat": EN_TEXT,
        }
        await page.get_by_role("button", name="Kirim sekarang").click()  # the preview's own form
        await page.get_by_text(f"0 dari {len(expected)} selesai").wait_for()
        await browser.close()


@needs_chromium
async def test_an_announcement_reaches_a_kecamatans_consenting_chats_once_despite_kills(
    tmp_path, sqlite_url, clock, stand_ins
):
    telegram_api, _ = stand_ins
    clock.now = STAGE_TIMES[0]  # 09:00 on a weekday: the reminders' hours
    app = build(tmp_path, sqlite_url, clock, roster=[])
    consenting(app, 400, channels=("telegram",))
    make_accounts(app)
    with app.db.transaction() as session:  # one Lubai chat stopped everything before the announcement
        stopped = next(iter(lubai_chats(app)))
        chat, _ = open_chat(session, channel="telegram", chat_id=stopped, language="id", now=clock())
        set_consent(session, chat=chat, active=False)
    expected = lubai_chats(app)
    assert len(expected) > 10 and stopped not in expected
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        await announce_in_browser(url, expected)
        viewer, token = log_in(url, "viewer")
        refused = viewer.post("/console/announcements/send", data={"csrf": token, "text_id": "x"})
        assert refused.status_code == 403
        elsewhere, token = log_in(url, "elsewhere")  # Gelumbang's operator
        elsewhere.post("/console/announcements/send", data={"csrf": token, "text_id": "x", "district": "Lubai"})
        assert "outside your kecamatan" in elsewhere.get("/console/announcements").text
    # 5 a second: the first drainer is killed with most of the announcement still to send.
    env = drainer_env(
        app,
        telegram_api,
        PAYUNG_TELEGRAM__PACE__IN_FLIGHT="1",
        PAYUNG_TELEGRAM__PACE__OVERALL_PER_SECOND="5",
        PAYUNG_REMINDERS__BATCH="5",
    )
    lease = timedelta(seconds=app.settings.reminders.lease_seconds + 1)
    moments, kills = random.Random(3), 0
    for attempt in range(3):
        process = drainer(env, clock() + attempt * lease)
        await asyncio.sleep(moments.uniform(1.0, 2.0))
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        await process.finished()
        if attempt == 0:
            assert kills == 1 and len(telegram_api.sent("sendMessage")) < len(expected)  # cut short
    last = await drainer(env, clock() + 3 * lease).finished()
    assert last.returncode == 0, last.stderr
    texts = [(call["chat_id"], call["text"]) for call in telegram_api.sent("sendMessage")]
    reached = Counter(chat_id for chat_id, _ in texts)
    assert set(reached) == set(expected)  # every consenting Lubai chat, nobody else
    assert sum(reached.values()) - len(expected) <= kills  # at most one repeat per kill
    for chat_id, text in texts:
        assert text == (EN_TEXT if expected[chat_id] == "en" else ID_TEXT)
    with app.db.transaction() as session:
        states = Counter(
            session.connection().execute(select(OUTBOX.c.state).where(OUTBOX.c.kind == "announcement")).scalars()
        )
    assert states == Counter({"sent": len(expected)})
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        operator, _ = log_in(url, "operator")
        done = len(expected)
        assert f"{done} dari {done} selesai" in operator.get("/console/announcements").text  # the progress bar
    app.close()


async def test_an_announcement_waits_out_the_night_and_skips_a_chat_that_stopped(tmp_path, sqlite_url, clock):
    clock.now = STAGE_TIMES[0] + timedelta(hours=12)  # 21:00: quiet hours
    app = build(tmp_path, sqlite_url, clock, roster=[])
    consenting(app, 60, channels=("console",))
    make_accounts(app)
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        announce(url, "admin", text_en="", district="")
    printed = io.StringIO()
    console = ConsoleChannel(app.dispatcher, app.sending, chat_id="operator", output=printed)
    assert await app.drainer({"console": console}).drain(clock()) == Counter()  # not at night
    with app.db.transaction() as session:
        chat, _ = open_chat(session, channel="console", chat_id="700000", language="id", now=clock())
        set_consent(session, chat=chat, active=False)
        set_language(session, chat=chat, language="en")
    done = await app.drainer({"console": console}).drain(clock() + timedelta(hours=12))
    assert done == Counter({"sent": 59, "skipped": 1})
    # No English was written: the Indonesian goes to everyone, the English chat too.
    assert printed.getvalue().count(ID_TEXT) == 59 and EN_TEXT not in printed.getvalue()
    app.close()


# What WhatsApp chats quiet for over 24 hours get, by the state of the announcement template.
PAST_WINDOW = {
    "none": ("Tidak terkirim: belum menulis dalam 24 jam, dan template pengumuman untuk WhatsApp belum ada "
             "(python -m bot whatsapp templates sync)."),
    "own": 'Lewat template "pengumuman_kami" (belum menulis dalam 24 jam), terbaca begini: {text}',
    "shipped": ('Lewat template "payung_pengumuman" (belum menulis dalam 24 jam), terbaca begini: {heading} {text} '
                "{stop}"),
    "under review": ('Lewat template "payung_pengumuman" (belum menulis dalam 24 jam), yang masih ditinjau WhatsApp: '
                     "pesan ini menunggu sampai disetujui, lalu terbaca begini: {heading} {text} {stop}"),
}  # fmt: skip
HEADINGS = {"id": ("Pengumuman dari Payung:", 'Ketik "berhenti" untuk tidak menerima pesan lagi.'),
            "en": ("An announcement from Payung:", 'Type "stop" to get no more messages.')}  # fmt: skip


@pytest.mark.parametrize("template", list(PAST_WINDOW))
def test_the_preview_shows_each_channel_the_message_it_would_get(tmp_path, database_url, clock, template):
    clock.now = STAGE_TIMES[0]
    own = {"announcement": {"name": "pengumuman_kami", "parameters": ["text"]}}
    app = build(tmp_path, database_url, clock, roster=[], whatsapp={"templates": own if template == "own" else {}})
    consenting(app, 12)  # even chats on Telegram, odd on WhatsApp; 0, 3, 6 and 9 in English
    with app.db.transaction() as session:  # everyone wrote last two days ago, two WhatsApp chats an hour ago
        connection = session.connection()
        connection.execute(CHATS.update().values(last_inbound_at=clock() - timedelta(days=2)))
        recent = CHATS.c.chat_id.in_(["700001", "700003"])
        connection.execute(CHATS.update().where(recent).values(last_inbound_at=clock() - timedelta(hours=1)))
        status = {"shipped": "APPROVED", "under review": "PENDING"}.get(template)
        if status:
            found = [("payung_pengumuman", language, status, None) for language in ("id", "en")]
            whatsapp_templates.record(session, found, now=clock())
    make_accounts(app)
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        operator, token = log_in(url, "operator")
        form = {"csrf": token, "text_id": ID_TEXT, "text_en": EN_TEXT}
        page = html.unescape(operator.post("/console/announcements/preview", data=form).text)
    cards = [
        (caption, " ".join(re.sub(r"<[^>]+>", " ", body).split()))
        for caption, body in re.findall(r"<figcaption>(.*?)</figcaption>(.*?)</figure>", page, re.S)
    ]

    def past_window(language: str, text: str) -> str:
        heading, stop = HEADINGS[language]
        return PAST_WINDOW[template].format(heading=heading, text=text, stop=stop)

    assert cards == [  # outside the window first
        ("Telegram · Inggris · 2 chat", EN_TEXT),
        ("Telegram · Bahasa Indonesia · 4 chat", ID_TEXT),
        ("WhatsApp · Inggris · 1 chat", past_window("en", EN_TEXT)),
        ("WhatsApp · Inggris · 1 chat", EN_TEXT),
        ("WhatsApp · Bahasa Indonesia · 3 chat", past_window("id", ID_TEXT)),
        ("WhatsApp · Bahasa Indonesia · 1 chat", ID_TEXT),
    ]
    assert f"Akan dikirim ke {8 if template == 'none' else 12} chat" in page
    app.close()
