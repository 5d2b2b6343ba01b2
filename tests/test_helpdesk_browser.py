"""The helpdesk end to end, an operator answering in Debian's chromium:
- on Telegram (updates posted to the real webhook, the real Telegram client
  talking to the stand-in Bot API), the answer goes out through the outbox;
- on WhatsApp (signed deliveries, the real pywa client talking to the
  stand-in Graph API), past the 24-hour window, the "answer" template goes
  first and the whole answer when the person taps it.
Either way the person's next message appears in the thread without a reload."""

from __future__ import annotations

import httpx
import pytest

from bot.channels.telegram import SECRET_HEADER
from bot.config import TemplateSettings
from bot.console.routes import console_site
from bot.web import build_web
from tests.browser import launched, needs_chromium, signed_in
from tests.console_world import make_accounts
from tests.graph_standin import GraphApiStandIn, message, text
from tests.servers import at_least, serve, stop
from tests.telegram_standin import BotApiStandIn, text_update
from tests.test_telegram import SECRET, started
from tests.test_whatsapp import WARGA, Webhook, channel_for

playwright = pytest.importorskip("playwright.async_api")
pytestmark = needs_chromium
ANSWER = "Datang ke kantor cabang, bawa e-KTP."


async def answer_first_thread(page, *, waiting: str) -> None:
    """From the dashboard: the helpdesk, thread #1 showing `waiting`, the answer."""
    await page.get_by_role("link", name="Helpdesk").click()
    await page.get_by_role("link", name="Percakapan #1").click()
    await page.get_by_text(waiting).wait_for()
    await page.get_by_label("Balasan", exact=True).fill(ANSWER)
    await page.get_by_role("button", name="Kirim balasan").click()
    await page.get_by_text("Anda menangani percakapan ini.").wait_for()


async def test_a_telegram_person_talks_to_an_operator_in_the_browser(app):
    make_accounts(app)
    async with BotApiStandIn() as api:
        channel = await started(app, api, mode="webhook")
        web = build_web(db=app.db, metrics=app.metrics, channels=[channel], sites=[console_site(app)])
        server, port = await serve(web)
        url = f"http://127.0.0.1:{port}"
        updates = iter(range(1, 100))

        async def person_says(said: str) -> None:
            answer = await hook.post(channel.settings.webhook_path, json=text_update(next(updates), 501, said),
                                     headers={SECRET_HEADER: SECRET})  # fmt: skip
            assert answer.status_code == 200

        async with httpx.AsyncClient(base_url=url) as hook, playwright.async_playwright() as driver:
            await person_says("bicara dengan petugas")
            [confirmed] = await at_least(1, lambda: api.sent("sendMessage"), "replies")
            assert "pesan Anda akan dibaca petugas" in confirmed["text"]
            await person_says("kartu peserta saya hilang")
            browser = await launched(driver)
            page = await signed_in(browser, url, "operator")
            await answer_first_thread(page, waiting="kartu peserta saya hilang")
            await app.drainer({"telegram": channel}).drain(app.clock())
            sent = await at_least(2, lambda: api.sent("sendMessage"), "replies")
            assert sent[-1]["chat_id"] == "501" and sent[-1]["text"] == f"Petugas: {ANSWER}"
            await person_says("baik, terima kasih")
            await page.get_by_text("baik, terima kasih").wait_for(timeout=15_000)  # polled in, no reload
            assert len(api.sent("sendMessage")) == 2  # the bot kept quiet
            await browser.close()
        await stop(server)
        await channel.stop()


async def test_a_whatsapp_person_past_24_hours_gets_the_template_then_the_answer(app, clock):
    make_accounts(app)
    async with GraphApiStandIn() as graph:
        answer_template = TemplateSettings(name="balasan_petugas", language="id", parameters=[])
        channel = channel_for(app, graph, templates={"answer": answer_template})
        async with Webhook(app, channel, sites=[console_site(app)]) as hook, playwright.async_playwright() as driver:
            await hook.say(text("wamid.1", WARGA, "bicara dengan petugas"))
            assert "pesan Anda akan dibaca petugas" in graph.bodies(WARGA)[-1]["text"]["body"]
            await hook.say(text("wamid.2", WARGA, "nama saya salah di daftar"))
            clock.advance(hours=25)  # the office answers the next day: the window has closed
            browser = await launched(driver)
            page = await signed_in(browser, str(hook.client.base_url), "operator")
            await answer_first_thread(page, waiting="nama saya salah di daftar")
            await app.drainer({"whatsapp": channel}).drain(app.clock())
            template = graph.bodies(WARGA)[-1]
            assert template["type"] == "template" and template["template"]["name"] == "balasan_petugas"
            assert ANSWER not in str(template)  # the answer itself waits for the person
            tapped = message("wamid.3", WARGA, "button", {"button": {"text": "Baca balasan", "payload": "Baca"}})
            await hook.say(tapped)
            whole = graph.bodies(WARGA)[-1]
            assert whole["type"] == "text" and whole["text"]["body"] == f"Petugas: {ANSWER}"
            await hook.say(text("wamid.4", WARGA, "terima kasih, besok saya datang"))
            await page.get_by_text("terima kasih, besok saya datang").wait_for(timeout=15_000)
            assert len(graph.bodies(WARGA)) == 3  # confirmation, template, answer: quiet otherwise
            await browser.close()
    await channel.stop()
