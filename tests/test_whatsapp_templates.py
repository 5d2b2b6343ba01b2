"""Payung's shipped WhatsApp templates against the stand-in Graph API, with
the real pywa client: submitted once each (in Indonesian and English), their
review read back, a reminder past 24 hours held while its template is
pending and sent as the approved template once Meta approves it, nothing
sent twice; the command line's sync and status; the warning on `run`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.channels.whatsapp import graph_session, whatsapp_client
from bot.channels.whatsapp_templates import shipped, sync, unready
from storage import whatsapp_templates
from storage.tables import CHATS, OUTBOX
from tests.conftest import TEST_KEY
from tests.graph_standin import PHONE_ID, TOKEN
from tests.processes import ForkedBot, bot_environment
from tests.test_reminders import STAGE_TIMES, consenting
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK
from tests.test_whatsapp import channel_for
from tests.transcript import Chat

WABA = "2002"
NAMES = sorted(shipped())


def outbox_states(app) -> list[tuple[str, str | None]]:
    with app.db.transaction() as session:
        rows = session.connection().execute(select(OUTBOX.c.state, OUTBOX.c.detail).order_by(OUTBOX.c.id))
        return [tuple(row) for row in rows]


async def test_templates_are_submitted_once_and_their_review_is_read_back(app, graph):
    settings = app.settings.whatsapp.model_copy(update={"graph_base_url": graph.base_url})
    async with graph_session(settings) as session:
        client = whatsapp_client(settings, TOKEN, session)
        found = await sync(client, WABA, app.db, now=app.clock())
        assert sorted((name, language) for name, language, _, _ in found) == [
            (name, language) for name in NAMES for language in ("en", "id")
        ]
        assert {status for _, _, status, _ in found} == {"PENDING"}
        created = {(item["name"], item["language"]): item for item in graph.templates}
        reminder = created[("payung_pengingat", "id")]
        assert reminder["category"] == "UTILITY" and reminder["parameter_format"] == "POSITIONAL"
        [body] = reminder["components"]
        assert body["text"].startswith("Pengingat Payung: perlindungan BPJS Ketenagakerjaan")
        assert "{{4}}" in body["text"]
        assert len(body["example"]["body_text"][0]) == 4  # Meta's review needs an example for each parameter
        graph.review("payung_pengingat", "id", "APPROVED")
        graph.review("payung_perpanjangan", "en", "REJECTED")
        again = await sync(client, WABA, app.db, now=app.clock())  # nothing new to submit
    assert len(graph.templates) == 2 * len(NAMES)
    statuses = {(name, language): status for name, language, status, _ in again}
    assert statuses[("payung_pengingat", "id")] == "APPROVED"
    assert statuses[("payung_perpanjangan", "en")] == "REJECTED"


async def test_a_reminder_waits_while_its_template_is_pending_and_goes_once_approved(app, graph, clock):
    clock.now = STAGE_TIMES[0] - timedelta(days=2)
    consenting(app, 2, channels=("whatsapp",))  # chat 700000 reads English, 700001 Indonesian
    app.planner().plan(clock())
    channel = channel_for(app, graph, business_account_id=WABA)
    await sync(channel.client, WABA, app.db, now=clock())
    await channel.read_template_statuses()
    assert "reminder_30 (pending)" in unready(app.settings, app.db)  # `run` warns

    drainer = app.drainer({"whatsapp": channel})
    assert await drainer.drain(STAGE_TIMES[0]) == {"waiting": 2}  # past 24 hours, the template under review
    assert graph.bodies() == []
    waiting = [detail for state, detail in outbox_states(app) if state == "planned" and detail]
    assert len(waiting) == 2 and all("awaits the platform's review" in detail for detail in waiting)
    assert await drainer.drain(STAGE_TIMES[0] + timedelta(minutes=5)) == {}  # it looks again in 15 minutes

    graph.review("payung_pengingat", "id", "APPROVED")
    graph.review("payung_pengingat", "en", "APPROVED")
    await channel.read_template_statuses()
    assert await drainer.drain(STAGE_TIMES[0] + timedelta(minutes=15)) == {"sent": 2}
    assert await drainer.drain(STAGE_TIMES[0] + timedelta(hours=1)) == {}  # nothing twice
    await channel.stop()
    sent = {body["to"]: body["template"] for body in graph.bodies()}
    assert {to: (template["name"], template["language"]["code"]) for to, template in sent.items()} == {
        "700000": ("payung_pengingat", "en"),
        "700001": ("payung_pengingat", "id"),
    }
    words = [parameter["text"] for parameter in sent["700001"]["components"][0]["parameters"]]
    assert words[1:3] == ["31 Desember 2026", "30 hari lagi"] and "belum memutuskan" in words[3]
    with app.db.transaction() as session:  # the attempts count only real tries
        attempts = session.connection().execute(select(OUTBOX.c.attempts).where(OUTBOX.c.state == "sent")).scalars()
        assert set(attempts) == {1}


async def test_the_command_line_syncs_and_lists_the_templates(app, graph, tmp_path):
    env = bot_environment(
        PAYUNG_NIK_KEY=TEST_KEY.get_secret_value(),
        PAYUNG_DATA_DIR=str(tmp_path / "cli"),
        WHATSAPP_TOKEN=TOKEN,
        PAYUNG_WHATSAPP__GRAPH_BASE_URL=graph.base_url,
        PAYUNG_WHATSAPP__PHONE_NUMBER_ID=PHONE_ID,
        PAYUNG_WHATSAPP__BUSINESS_ACCOUNT_ID=WABA,
    )

    async def payung(*args: str) -> tuple[int, str, str]:
        ended = await ForkedBot(Path.cwd(), list(args), env=env).finished()
        return ended.returncode, ended.stdout, ended.stderr

    code, listed, missing = await payung("whatsapp", "templates", "status")
    assert code == 0 and "not at Meta yet: payung_balasan_petugas (en)" in " ".join(missing.split())
    code, synced, _ = await payung("whatsapp", "templates", "sync")
    assert code == 0 and synced.count("PENDING") == 2 * len(NAMES)
    graph.review("payung_balasan_petugas", "id", "APPROVED")
    code, listed, missing = await payung("whatsapp", "templates", "status")
    assert code == 0 and listed.count("APPROVED") == 1 and missing == ""
    assert "payung_pengingat" in listed and "reminder" in listed  # what each carries


async def test_run_warns_when_whatsapp_chats_wait_for_templates(app, graph):
    consenting(app, 2, channels=("whatsapp",))
    assert unready(app.settings, app.db) is None  # WhatsApp is not enabled
    channel_for(app, graph)
    warning = unready(app.settings, app.db)
    assert warning.startswith("2 WhatsApp chats consented to reminders, but these have no approved template:")
    assert "reminder_30 (missing)" in warning and "python -m bot whatsapp templates sync" in warning
    with app.db.transaction() as session:  # nobody left to remind there: no warning
        session.connection().execute(CHATS.update().values(active=False))
    assert unready(app.settings, app.db) is None


async def test_the_consent_on_whatsapp_promises_reminders_only_once_their_templates_are_approved(app, graph):
    channel_for(app, graph)
    for number, approved in (("6281234567890", False), ("6281234567891", True)):
        if approved:
            with app.db.transaction() as session:
                found = [(name, "id", "APPROVED", None) for name in ("payung_pengingat", "payung_pengingat_berakhir")]
                whatsapp_templates.record(session, found, now=app.clock())
        chat = Chat(app, number, channel="whatsapp", sender_phone=f"+{number}")
        for line in ("halo", "1", BUDI_NIK, BUDI_BORN):
            await chat.says(line)
        said = await chat.says("ya")
        if approved:
            assert said.startswith("Baik, kami akan mengingatkan Anda sebelum 31 Desember 2026.")
        else:
            assert said.startswith("Baik, dicatat. Pengingat sebelum 31 Desember 2026 mulai terkirim di sini")


async def test_an_english_chat_gets_the_indonesian_template_where_the_english_one_was_refused(app, graph, clock):
    clock.now = STAGE_TIMES[0] - timedelta(days=2)
    consenting(app, 1, channels=("whatsapp",))  # chat 700000 reads English
    app.planner().plan(clock())
    with app.db.transaction() as session:
        found = [("payung_pengingat", "en", "REJECTED", "9001"), ("payung_pengingat", "id", "APPROVED", "9002")]
        whatsapp_templates.record(session, found, now=clock())
    channel = channel_for(app, graph)
    assert await app.drainer({"whatsapp": channel}).drain(STAGE_TIMES[0]) == {"sent": 1}
    await channel.stop()
    [sent] = graph.bodies()
    assert (sent["template"]["name"], sent["template"]["language"]["code"]) == ("payung_pengingat", "id")
