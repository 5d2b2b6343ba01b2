"""The helpdesk end to end: a person on Telegram (updates posted to the real
webhook, the real Telegram client talking to the stand-in Bot API) asks for
a person; an operator answers in Debian's chromium; the answer reaches
Telegram through the outbox; the person's next message appears in the
thread without a reload."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram import SECRET_HEADER
from bot.console.routes import console_site
from bot.web import build_web
from tests.console_world import ACCOUNTS, PASSWORD, make_accounts
from tests.servers import at_least, serve, stop
from tests.telegram_standin import BotApiStandIn, text_update
from tests.test_telegram import SECRET, started

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture
async def api():
    async with BotApiStandIn() as standin:
        yield standin


async def test_a_telegram_person_talks_to_an_operator_in_the_browser(app, api):
    make_accounts(app)
    channel = await started(app, api, mode="webhook")
    server, port = await serve(build_web(db=app.db, metrics=app.metrics, channels=[channel], sites=[console_site(app)]))
    url = f"http://127.0.0.1:{port}"
    updates = iter(range(1, 100))

    async def person_says(text: str) -> None:
        answer = await hook.post(channel.settings.webhook_path, json=text_update(next(updates), 501, text),
                                 headers={SECRET_HEADER: SECRET})  # fmt: skip
        assert answer.status_code == 200

    async with httpx.AsyncClient(base_url=url) as hook, playwright.async_playwright() as driver:
        await person_says("bicara dengan petugas")
        [confirmed] = await at_least(1, lambda: api.sent("sendMessage"), "replies")
        assert "pesan Anda akan dibaca petugas" in confirmed["text"]
        await person_says("kartu peserta saya hilang")
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"{url}/console/login")
        await page.get_by_label("Nama akun").fill(ACCOUNTS["operator"][0])
        await page.get_by_label("Kata sandi").fill(PASSWORD)
        await page.get_by_role("button", name="Masuk").click()
        await page.wait_for_url(re.compile(r"/console/dashboard$"))
        await page.get_by_role("link", name="Helpdesk").click()
        await page.get_by_role("link", name="Percakapan #1").click()
        await page.get_by_text("kartu peserta saya hilang").wait_for()
        await page.get_by_label("Balasan", exact=True).fill("Datang ke kantor cabang, bawa e-KTP.")
        await page.get_by_role("button", name="Kirim balasan").click()
        await page.get_by_text("Anda menangani percakapan ini.").wait_for()
        await app.drainer({"telegram": channel}).drain(app.clock())
        sent = await at_least(2, lambda: api.sent("sendMessage"), "replies")
        assert sent[-1]["chat_id"] == "501" and sent[-1]["text"] == "Petugas: Datang ke kantor cabang, bawa e-KTP."
        await person_says("baik, terima kasih")
        await page.get_by_text("baik, terima kasih").wait_for(timeout=15_000)  # polled in, no reload
        assert len(api.sent("sendMessage")) == 2  # the bot kept quiet
        await browser.close()
    await stop(server)
    await channel.stop()
