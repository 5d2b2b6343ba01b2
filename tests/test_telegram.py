"""The Telegram channel end to end, once per library: the real
python-telegram-bot or aiogram client talks HTTP to the stand-in Bot API, and
Telegram-shaped updates come in by polling and by real webhook requests."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import signal
import socket
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.channels.telegram_ptb_request import AiohttpRequest
from bot.config import PaceSettings
from bot.dispatcher import Dispatcher
from bot.web import build_web
from handlers.flow import Flow, Turn, ask
from handlers.flows import Flows
from handlers.messages import Outbound
from storage import incidents
from storage.models import Chat, OutboxMessage, ProcessedMessage
from tests.conftest import build
from tests.processes import bot_environment
from tests.servers import Served
from tests.telegram_standin import (
    TOKEN,
    BotApiStandIn,
    message_update,
    most_in_any_second,
    tap_update,
    text_update,
)
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK, own_report
from tests.transcript import Chat as Conversation

SECRET = "webhook-secret_for-tests"
GROUP = -100200300


@pytest.fixture(autouse=True, params=["python-telegram-bot", "aiogram"])
def library(request, app) -> str:
    """Every test here runs with each Telegram library behind the channel."""
    app.settings.telegram = app.settings.telegram.model_copy(update={"library": request.param})
    return request.param


@pytest.fixture
async def api():
    async with BotApiStandIn() as standin:
        yield standin


# A person's replies at once: only the pacing tests keep Telegram's 1 a
# second per chat (they pass their own limits).
UNPACED_CHATS = PaceSettings(private_per_second=100)


async def started(app, api, *, mode="polling", **telegram):
    app.settings.telegram = app.settings.telegram.model_copy(
        update={
            "base_url": api.base_url,
            "base_file_url": api.base_file_url,
            "mode": mode,
            "poll_timeout": 1,
            "webhook_url": "https://payung.example/telegram",
            "pace": UNPACED_CHATS,
            **telegram,
        }
    )
    channel = TelegramChannel.of(app, token=TOKEN, webhook_secret=SECRET if mode == "webhook" else "")
    await channel.start()
    return channel


class Webhook(Served):
    """Our web app served on 127.0.0.1, posted to like Telegram does."""

    def __init__(self, app, channel):
        super().__init__(build_web(db=app.db, metrics=app.metrics, channels=[channel]))
        self.path = channel.settings.webhook_path

    async def post(self, body, secret: str | None = SECRET) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        content = body if isinstance(body, bytes) else None
        return await self.client.post(self.path, json=None if content else body, content=content, headers=headers)


def keyboard(sent: dict) -> list[tuple[str, str]]:
    return [(row[0]["text"], row[0]["callback_data"]) for row in sent["reply_markup"]["inline_keyboard"]]


async def converse(api: BotApiStandIn, deliver, chat_id: int = 501) -> list[dict]:
    """The whole coverage check as a person does it on Telegram: taps and typing."""
    script = [
        text_update(1, chat_id, "/start@PayungTestBot"),
        tap_update(2, chat_id, "coverage"),
        text_update(3, chat_id, "1603 0105 0380 0001"),
        text_update(4, chat_id, BUDI_BORN),
        tap_update(5, chat_id, "no"),
    ]
    replies = [1, 2, 3, 5, 7]  # sendMessage calls after each step, in total
    for update, total in zip(script, replies, strict=True):
        await deliver(update)
        await api.wait_for(total)
    return api.sent()


async def test_a_coverage_check_over_polling(app, api):
    channel = await started(app, api)
    polling = asyncio.create_task(channel.poll())
    try:
        sent = await converse(api, lambda update: _push(api, update))
    finally:
        polling.cancel()
        await channel.stop()
    assert_coverage_conversation(api, sent)
    assert [call.method for call in api.calls[:4]] == ["getMe", "setMyCommands", "setMyCommands", "setMyCommands"]
    assert "deleteWebhook" in [call.method for call in api.calls]


async def _push(api, update):
    api.push(update)


async def test_the_same_check_over_the_webhook(app, api):
    channel = await started(app, api, mode="webhook")
    [webhook] = api.sent("setWebhook")
    assert webhook == {
        "url": "https://payung.example/telegram",
        "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"],
    }
    async with Webhook(app, channel) as hook:

        async def deliver(update):
            assert (await hook.post(update)).status_code == 200

        sent = await converse(api, deliver)
    await channel.stop()
    assert_coverage_conversation(api, sent)


async def test_a_bot_with_replies_piling_up_takes_no_more_in_until_some_are_out(app, api):
    """Telegram keeps what the webhook has not acknowledged: a bot holding
    `queue_limit` replies not yet out acknowledges the next update only once
    one of them is out, so a burst waits at Telegram, not in the bot's memory."""
    app.sending.queue_limit = 3
    channel = await started(app, api, mode="webhook", pace=PaceSettings(overall_per_second=5))
    acknowledged = []
    async with Webhook(app, channel) as hook:
        for number in range(1, 13):
            assert (await hook.post(text_update(number, 10_000 + number, "halo"))).status_code == 200
            acknowledged.append(time.monotonic())
        sent = await api.wait_for(12, timeout=20)
    await channel.stop()
    out = sorted(call.at for call in api.calls if call.method == "sendMessage")
    # The k-th update is let in once the replies before it hold fewer than 3 places.
    assert all(acknowledged[k] >= out[k - 3] for k in range(3, 12)), (acknowledged, out)
    assert sorted(int(call["chat_id"]) for call in sent) == list(range(10_001, 10_013))  # each once


async def test_switching_library_mid_conversation_loses_nothing(app, api, library):
    """Sessions and dedupe keys are Payung's tables: a deployment that
    changes telegram.library between two messages carries on."""
    other = {"python-telegram-bot": "aiogram", "aiogram": "python-telegram-bot"}[library]
    before = await started(app, api, mode="webhook")
    async with Webhook(app, before) as hook:
        for update in (text_update(1, 501, "/start"), tap_update(2, 501, "coverage"), text_update(3, 501, BUDI_NIK)):
            assert (await hook.post(update)).status_code == 200
        await api.wait_for(3)
    await before.stop()
    after = await started(app, api, mode="webhook", library=other)
    assert type(after.api).__name__ != type(before.api).__name__
    async with Webhook(app, after) as hook:
        assert (await hook.post(text_update(3, 501, BUDI_NIK))).status_code == 200  # a redelivery: ignored
        assert (await hook.post(text_update(4, 501, BUDI_BORN))).status_code == 200
        sent = await api.wait_for(5)
    await after.stop()
    assert sent[2]["text"].startswith("Sekarang ketik tanggal lahir")
    assert "Status: AKTIF" in sent[3]["text"] and len(sent) == 5


def assert_coverage_conversation(api: BotApiStandIn, sent: list[dict]) -> None:
    greeting, ask_nik, ask_birth, card, consent, goodbye, again = sent
    assert greeting["chat_id"] == "501"
    assert greeting["text"].startswith("Halo! Saya Payung")
    assert "parse_mode" not in greeting
    assert keyboard(greeting) == [
        ("1. Cek kepesertaan", "coverage"),
        ("2. Lapor kejadian", "incident"),
        ("3. Status laporan", "status"),
        ("4. Pengingat", "reminders"),
        ("5. Bantuan", "help"),
        ("6. Bahasa/Language", "language"),
        ("7. Bicara dengan petugas", "helpdesk"),
    ]
    assert ask_nik == {"chat_id": "501", "text": ask_nik["text"]} and ask_nik["text"].startswith("Ketik NIK Anda")
    assert ask_birth["text"].startswith("Sekarang ketik tanggal lahir")
    assert "Status: AKTIF" in card["text"] and "1 Oktober 2026 – 31 Desember 2026" in card["text"]
    assert keyboard(consent) == [("1. Ya", "yes"), ("2. Tidak", "no"), ("3. Lihat data lengkap", "prove")]
    assert "Nama:" not in card["text"] and "Desa:" not in card["text"]  # NIK + birth date: KTP data only
    assert goodbye["text"].startswith("Baik, Anda tidak akan diingatkan")
    assert keyboard(again) == keyboard(greeting)
    # Each tap was answered and took the keyboard off the message it was on.
    assert api.sent("answerCallbackQuery") == [{"callback_query_id": "cb-2"}, {"callback_query_id": "cb-5"}]
    assert api.sent("editMessageReplyMarkup") == [{"chat_id": "501", "message_id": "1000"}] * 2


async def test_commands_are_registered_in_both_languages(app, api):
    channel = await started(app, api)
    await channel.stop()
    registered = {call.get("language_code"): call["commands"] for call in api.sent("setMyCommands")}
    assert set(registered) == {"id", "en", None}
    assert [c["command"] for c in registered["id"]] == ["start", "menu", "batal", "bantuan", "bahasa"]
    assert registered["en"][3]["description"] == "Help about JKK and JKM"
    assert registered[None] == registered["id"]


def probe_dispatcher(app) -> Dispatcher:
    """An engine whose only flow asks for a contact and then says exactly
    what reached the step, to see the channel's parsing end to end."""

    async def start(turn: Turn):
        return ask(got, turn.request("common.pick_one", "contact"))

    async def got(turn: Turn):
        inbound = turn.inbound
        media = [
            (item.sha256, item.size, item.mime_type, Path(item.path).read_bytes(), item.caption)
            for item in inbound.media
        ]
        said = f"contact={inbound.contact_phone} location={inbound.location} media={media} text={inbound.text}"
        return ask(got, Outbound(said))

    probe = Flow.of("probe", start, got)
    return app.dispatcher.with_flows(Flows.of([probe], menu=probe))


async def test_contacts_locations_and_files_reach_the_step(app, api):
    app.settings.max_file_mb = 1
    channel = await started(app, api, mode="webhook")
    channel.dispatcher = probe_dispatcher(app)
    photo = b"\xff\xd8\xff\xe0 a photo of the accident"
    api.files["documents/big-photo"] = photo
    async with Webhook(app, channel) as hook:
        await hook.post(text_update(1, 501, "/start"))
        [asked] = await api.wait_for(1)
        assert asked["reply_markup"] == {
            "keyboard": [[{"text": "Kirim nomor saya", "request_contact": True}]],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }

        own = {"phone_number": "6281234567890", "first_name": "Warga", "user_id": 501}
        await hook.post(message_update(2, 501, contact=own))
        reply = (await api.wait_for(2))[-1]
        assert reply["text"].startswith("contact=+6281234567890 ")
        assert reply["reply_markup"] == {"remove_keyboard": True}

        someone_else = {"phone_number": "+6281111111111", "first_name": "Tetangga", "user_id": 777}
        await hook.post(message_update(3, 501, contact=someone_else))
        assert (await api.wait_for(3))[-1]["text"].startswith("Maaf, yang bisa diterima hanya nomor Anda sendiri")

        await hook.post(message_update(4, 501, location={"latitude": -3.65, "longitude": 103.77}))
        assert "location=Location(latitude=-3.65, longitude=103.77)" in (await api.wait_for(4))[-1]["text"]

        sizes = [
            {"file_id": "small-photo", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 10},
            {"file_id": "big-photo", "file_unique_id": "b", "width": 800, "height": 600, "file_size": len(photo)},
        ]
        await hook.post(message_update(5, 501, photo=sizes, caption="kaki saya"))
        digest = hashlib.sha256(photo).hexdigest()
        expected = f"media={[(digest, len(photo), 'image/jpeg', photo, 'kaki saya')]} text=kaki saya"
        assert (await api.wait_for(5))[-1]["text"].endswith(expected)
        assert (app.settings.data_dir / "media" / "telegram" / f"{digest}.jpg").read_bytes() == photo

        too_big = {
            "file_id": "scan",
            "file_unique_id": "sc",
            "file_name": "surat.pdf",
            "mime_type": "application/pdf",
            "file_size": 2 * 1024 * 1024,
        }
        await hook.post(message_update(6, 501, document=too_big))
        assert "berkas terlalu besar" in (await api.wait_for(6))[-1]["text"]

        voice_note = b"OggS a voice note"
        api.files["documents/voice-1"] = voice_note
        voice = {"file_id": "voice-1", "file_unique_id": "v", "duration": 4, "file_size": len(voice_note)}
        await hook.post(message_update(7, 501, voice=voice))
        digest = hashlib.sha256(voice_note).hexdigest()
        assert (await api.wait_for(7))[-1]["text"].endswith(
            f"media={[(digest, len(voice_note), 'audio/ogg', voice_note, '')]} text="
        )
    await channel.stop()
    assert [call.params["file_id"] for call in api.calls if call.method == "getFile"] == ["big-photo", "voice-1"]


def processed_count(app) -> int:
    with app.db.transaction() as session:
        return len(session.exec(select(ProcessedMessage)).all())


async def test_what_payung_does_not_answer_gets_200_and_nothing_else(app, api):
    channel = await started(app, api, mode="webhook")
    group = {"id": -100200300, "type": "supergroup", "title": "Operator Payung"}
    edited = text_update(10, 501, "halo")
    edited["edited_message"] = edited.pop("message")
    joined = message_update(11, 9, new_chat_members=[{"id": 10, "is_bot": False, "first_name": "Baru"}])
    joined["message"]["chat"] = group
    chatter = text_update(12, 9, "halo semua")
    chatter["message"]["chat"] = group
    unknown = {"update_id": 13, "some_future_update": {"id": 1}}
    async with Webhook(app, channel) as hook:
        for body in (edited, joined, chatter, unknown, b"not json at all", {"no": "update_id"}, [1, 2]):
            assert (await hook.post(body)).status_code == 200, body
    await channel.stop()
    assert api.sent() == [] and processed_count(app) == 0


def in_group(update_id: int, user_id: int, text: str) -> dict:
    update = text_update(update_id, user_id, text)
    update["message"]["chat"] = {"id": GROUP, "type": "supergroup", "title": "Operator Payung"}
    return update


async def test_listed_operators_change_a_status_from_their_group(app, api):
    channel = await started(app, api, mode="webhook", operator_chat_id=GROUP, operators=[42])
    reporter = Conversation(app, channel="telegram", chat_id="501")
    for line in (*own_report(chronology="Jatuh dari pohon saat memanen sawit."), "1"):
        await reporter.says(line)
    command = in_group(1, 42, "/status@PayungTestBot lk-2026-000001 diverifikasi data cocok")
    async with Webhook(app, channel) as hook:
        for update in (
            command,
            command,
            in_group(2, 77, "/status LK-2026-000001 selesai"),
            in_group(3, 42, "halo semua"),
            in_group(4, 42, "/status LK-2026-000001 ditolak"),
            in_group(5, 42, "/status LK-2026-000404 selesai"),
            in_group(6, 42, "/status LK-2026-000001 diterima"),  # back: an admin's, in the console
        ):
            assert (await hook.post(update)).status_code == 200
        await asyncio.sleep(0.2)
        await channel.sender.drain()
    await channel.stop()
    said = [call["text"] for call in api.sent() if call["chat_id"] == str(GROUP)]
    assert said[0] == "LK-2026-000001: Diverifikasi (oleh Warga). Pelapor akan diberi tahu."
    assert said[1].startswith("Maaf, hanya operator yang terdaftar")
    assert said[2].startswith("Tulis: /status LK-2026-000123 diverifikasi")  # ditolak without a reason
    assert said[3] == "Laporan LK-2026-000404 tidak ada."
    assert said[4].startswith("Status LK-2026-000001 tidak diubah: sekarang Diverifikasi.")
    assert len(said) == 5  # the redelivery and the chatter: nothing
    with app.db.transaction() as session:
        history = incidents.history(session, incident_id=incidents.report(session, reference="LK-2026-000001").id)
        told = [row for row in session.exec(select(OutboxMessage)).all() if row.kind == "notice"]
    assert [(change.status, change.actor, change.note) for change in history][1:] == [
        ("diverifikasi", "telegram:Warga", "data cocok")
    ]
    assert [row.body for row in told if "statusnya" in row.body] == [
        "Kabar laporan LK-2026-000001: statusnya sekarang Diverifikasi.\nCatatan petugas: data cocok"
    ]


async def test_a_wrong_or_missing_secret_is_refused_before_the_database(app, api):
    channel = await started(app, api, mode="webhook")
    async with Webhook(app, channel) as hook:
        assert (await hook.post(text_update(1, 501, "halo"), secret="guess")).status_code == 401
        assert (await hook.post(text_update(1, 501, "halo"), secret=None)).status_code == 401
    await channel.stop()
    assert api.sent() == [] and processed_count(app) == 0


async def test_a_thousand_redeliveries_are_answered_once(app, api):
    channel = await started(app, api, mode="webhook")
    update = text_update(77, 501, "halo")
    async with Webhook(app, channel) as hook:
        for _ in range(50):
            statuses = await asyncio.gather(*(hook.post(update) for _ in range(20)))
            assert {response.status_code for response in statuses} == {200}
    await channel.stop()
    assert len(api.sent()) == 1 and processed_count(app) == 1


async def test_health_and_metrics(app, api):
    channel = await started(app, api, mode="webhook")
    async with Webhook(app, channel) as hook:
        await hook.post(text_update(1, 501, "halo"))
        await api.wait_for(1)
        await channel.sender.drain()
        health = await hook.client.get("/healthz")
        metrics = (await hook.client.get("/metrics")).text
    await channel.stop()
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert 'payung_messages_in_total{channel="telegram"} 1.0' in metrics
    assert 'payung_messages_out_total{channel="telegram"} 1.0' in metrics
    assert 'payung_send_seconds_count{channel="telegram"} 1.0' in metrics


# -- the paced outbound path ----------------------------------------------------


def arrivals(api: BotApiStandIn) -> list[tuple[str, float]]:
    return [(call.params["chat_id"], call.at) for call in api.calls if call.method == "sendMessage"]


async def test_a_burst_to_350_chats_stays_within_every_limit(app, api):
    # The stand-in reads requests on this test's own event loop, busy with
    # 200 sends a second: a request may wait there over a second after it
    # was written, so each place is held until its answer (a jitter longer
    # than any trip).
    pace = PaceSettings(overall_per_second=200, private_per_second=1, group_per_minute=20, jitter=60.0)
    channel = await started(app, api, pace=pace)
    # Fifty chats with four messages each, queued together, and 300 with
    # one: without its own limit a chat's four would go in one second, and
    # without the overall one the first 350 would.
    messages = {str(10_000 + chat): 4 for chat in range(50)} | {str(20_000 + chat): 1 for chat in range(300)}
    for chat, count in messages.items():
        for number in range(count):
            app.sending.submit(channel, chat, Outbound(f"pesan {number}"))
    await channel.sender.drain()
    await channel.stop()
    log = arrivals(api)
    assert len(log) == 500
    assert most_in_any_second([at for _, at in log]) <= 200
    by_chat = defaultdict(list)
    for chat, at in log:
        by_chat[chat].append(at)
    assert max(most_in_any_second(times) for times in by_chat.values()) == 1
    # and each chat's messages kept their order
    texts = defaultdict(list)
    for call in api.sent():
        texts[call["chat_id"]].append(call["text"])
    assert texts == {chat: [f"pesan {number}" for number in range(count)] for chat, count in messages.items()}


async def test_on_a_slow_link_the_rate_holds_because_the_answers_trip_back_is_not_counted(app, api, library):
    """Ten chats at 5 a second with a half-second round trip: the second five
    go a second after the first five arrived, not a second after their answers."""
    if library == "aiogram":
        pytest.skip("aiogram's session does not tell when a request was written: its places last until the answer")
    api.round_trip = 0.5
    channel = await started(app, api, pace=PaceSettings(overall_per_second=5, in_flight=10))
    for chat in range(10):
        app.sending.submit(channel, str(10_000 + chat), Outbound("pesan"))
    await channel.sender.drain()
    await channel.stop()
    times = sorted(at for _, at in arrivals(api))
    assert len(times) == 10 and most_in_any_second(times) == 5
    assert times[-1] - times[0] < 1.3  # counting the way back too would make it 1.5 at least


async def test_a_group_gets_at_most_20_a_minute(app, api):
    channel = await started(app, api, operator_chat_id=-100200300)
    for number in range(21):
        assert channel.notify_operators(Outbound(f"laporan {number}"))
    await asyncio.sleep(2)
    await channel.stop(timeout=0.1)  # the 21st would wait a minute
    sent = api.sent()
    assert len(sent) == 20 and sent[0]["chat_id"] == "-100200300"


async def test_two_processes_posting_to_one_group_keep_its_limit_together(tmp_path, postgres_url, clock, api, library):
    """Two `run` processes on one PostgreSQL each post a burst of reports to
    the operators' group: the group's 2 a minute here is the bot's, not each
    process's."""
    limits = PaceSettings(group_per_minute=2)
    processes = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        other = build(tmp_path / name, postgres_url, clock, roster=None)
        other.settings.telegram = other.settings.telegram.model_copy(update={"library": library})
        processes.append((other, await started(other, api, operator_chat_id=GROUP, pace=limits)))
    try:
        for process, (_, channel) in enumerate(processes):
            for number in range(2):
                assert channel.notify_operators(Outbound(f"laporan {process}.{number}"))
        await asyncio.sleep(2)
    finally:
        for other, channel in processes:
            await channel.stop(timeout=0.1)  # the other two would wait a minute
            other.close()
    assert len(api.sent()) == 2


async def test_retry_after_pauses_only_that_chat(app, api):
    channel = await started(app, api)
    api.fail("sendMessage", chat_id="601", status=429, description="Too Many Requests: retry after 3", retry_after=3)
    app.sending.submit(channel, "601", Outbound("untuk 601"))
    app.sending.submit(channel, "602", Outbound("untuk 602"))
    await channel.sender.drain()
    await channel.stop()
    log = arrivals(api)
    first_601, second_601 = [at for chat, at in log if chat == "601"]
    [only_602] = [at for chat, at in log if chat == "602"]
    assert only_602 - first_601 < 0.5
    assert second_601 - first_601 >= 3.0
    assert [call["text"] for call in api.sent() if call["chat_id"] == "601"] == ["untuk 601"] * 2


async def test_server_errors_are_retried_with_backoff(app, api):
    channel = await started(app, api)
    api.fail("sendMessage", chat_id="603", status=502, description="Bad Gateway", times=2)
    app.sending.submit(channel, "603", Outbound("akhirnya sampai"))
    await channel.sender.drain()
    await channel.stop()
    times = [at for chat, at in arrivals(api) if chat == "603"]
    # backoff of 0.5 s then 1 s (and the chat's own 1 s pace still applies)
    assert len(times) == 3 and times[1] - times[0] >= 0.5 and times[2] - times[1] >= 1.0


async def test_a_blocked_bot_marks_the_chat_inactive_until_they_write_again(app, api):
    channel = await started(app, api, mode="webhook")
    async with Webhook(app, channel) as hook:
        await hook.post(text_update(1, 604, "halo"))
        await channel.sender.drain()
        api.fail("sendMessage", chat_id="604", status=403, description="Forbidden: bot was blocked by the user")
        for number in range(3):
            app.sending.submit(channel, "604", Outbound(f"pengingat {number}"))
        await channel.sender.drain()
        assert not chat_row(app, "604").active
        # one attempt reached Telegram; the two queued behind it were dropped
        assert [call["text"] for call in api.sent()][1:] == ["pengingat 0"]
        await hook.post(text_update(2, 604, "halo"))
        await channel.sender.drain()
        assert chat_row(app, "604").active
    await channel.stop()
    assert 'payung_errors_total{channel="telegram",kind="unreachable"} 1.0' in app.metrics.render().decode()


def chat_row(app, chat_id: str) -> Chat:
    with app.db.transaction() as session:
        return session.exec(select(Chat).where(Chat.channel == "telegram", Chat.chat_id == chat_id)).one()


async def test_python_m_bot_run_answers_on_telegram_and_stops_cleanly(tmp_path, api, library):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        web_port = probe.getsockname()[1]
    env = bot_environment(
        **{
            "PAYUNG_NIK_KEY": "k" * 40,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "PAYUNG_DATA_DIR": str(tmp_path / "data"),
            "PAYUNG_TELEGRAM__BASE_URL": api.base_url,
            "PAYUNG_TELEGRAM__BASE_FILE_URL": api.base_file_url,
            "PAYUNG_TELEGRAM__POLL_TIMEOUT": "1",
            "PAYUNG_WEB__PORT": str(web_port),
            "PAYUNG_TELEGRAM__LIBRARY": library,
        }
    )
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        api.push(text_update(1, 501, "halo"))
        [greeting] = await api.wait_for(1, timeout=60)
        async with httpx.AsyncClient() as client:
            health = await client.get(f"http://127.0.0.1:{web_port}/healthz")
    finally:
        bot.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(bot.communicate(), 30)
    assert greeting["text"].startswith("Halo! Saya Payung")
    assert health.json() == {"status": "ok"}
    assert bot.returncode in (0, 130) and "Traceback" not in stderr.decode(), stderr.decode()
    assert TOKEN not in stderr.decode() and TOKEN.split(":")[1] not in stderr.decode()


async def test_a_shared_own_contact_proves_the_owner_and_a_foreign_one_proves_nothing(app, api):
    channel = await started(app, api, mode="webhook")
    budi, neighbour = {"first_name": "Budi", "user_id": 501}, {"first_name": "Tetangga", "user_id": 777}
    script = [
        (text_update(1, 501, "/start"), 1),
        (tap_update(2, 501, "coverage"), 2),
        (text_update(3, 501, BUDI_NIK), 3),
        (text_update(4, 501, BUDI_BORN), 5),  # the KTP-level answer, then reminders with a button to prove more
        (tap_update(5, 501, "prove"), 6),
        (message_update(6, 501, contact={**neighbour, "phone_number": "6281234567890"}), 7),
        (message_update(7, 501, contact={**budi, "phone_number": "6281234567890"}), 9),
    ]
    async with Webhook(app, channel) as hook:
        for update, total in script:
            assert (await hook.post(update)).status_code == 200
            await api.wait_for(total)
    await channel.stop()
    sent = api.sent()
    assert "Status: AKTIF" in sent[3]["text"] and "Nama:" not in sent[3]["text"] + sent[4]["text"]
    assert keyboard(sent[4])[-1] == ("3. Lihat data lengkap", "prove")
    assert sent[5]["reply_markup"]["keyboard"] == [[{"text": "Kirim nomor saya", "request_contact": True}]]
    # Someone else's contact, even with Budi's number in it, is refused before it reaches the step.
    assert sent[6]["text"].startswith("Maaf, yang bisa diterima hanya nomor Anda sendiri")
    assert "Nama: B*** S******" in sent[7]["text"] and "Desa: Talang Demo, Kec. Lubai" in sent[7]["text"]
    assert keyboard(sent[8]) == [("1. Ya", "yes"), ("2. Tidak", "no")]


async def test_a_check_a_report_and_an_officer_link_at_debug_log_no_nik_birth_date_or_phone(app, api, capfd):
    from bot.logs import configure_logging
    from tests.test_transcript_officer import RINA_BORN, RINA_NIK, with_rina

    with_rina(app)
    configure_logging("DEBUG")
    budi = {"first_name": "Budi", "user_id": 501, "phone_number": "6281234567890"}
    rina = {"first_name": "Rina", "user_id": 502, "phone_number": "+62 812-1111-2222"}
    budi_says = [tap_update(0, 501, "coverage"), "1603.0105.0380.0001", "05 03 1980", tap_update(0, 501, "prove")]
    budi_says += [{"contact": budi}, "menu", "lapor", "1", *own_report()[3:], "Kirim laporan"]
    rina_says = ["perangkat", RINA_NIK.replace("0", "0 ", 1), RINA_BORN, {"contact": rina}]
    updates = itertools.count(1)
    try:
        logging.getLogger("bot.test").debug("debug is on")
        # Each reply is awaited before the next message: lift the 1 a second per chat.
        lifted = PaceSettings(overall_per_second=1000, private_per_second=1000)
        channel = await started(app, api, mode="webhook", pace=lifted)
        async with Webhook(app, channel) as hook:
            for chat_id, script in ((501, ["/start", *budi_says]), (502, ["/start", *rina_says])):
                for said in script:
                    number = next(updates)
                    if isinstance(said, str):
                        update = text_update(number, chat_id, said)
                    elif "contact" in said:
                        update = message_update(number, chat_id, **said)
                    else:
                        update = {**said, "update_id": number}
                    assert (await hook.post(update)).status_code == 200
                    await channel.sender.drain()
        await channel.stop()
    finally:
        root = logging.getLogger()
        root.handlers.clear()
        root.setLevel(logging.WARNING)
    sent = [call["text"] for call in api.sent()]
    assert any("Nama: B*** S******" in text for text in sent)
    assert any(text.startswith("Laporan terkirim") for text in sent), sent
    assert any(text.startswith("Terhubung sebagai Sekretaris desa") for text in sent), sent
    logged = capfd.readouterr().err
    assert "DEBUG bot.test: debug is on" in logged and "DEBUG httpx" not in logged
    secrets = ["1603.0105.0380.0001", BUDI_NIK, "05 03 1980", BUDI_BORN, "6281234567890", "1234567890"]
    secrets += [RINA_NIK, RINA_BORN, "812-1111-2222", "81211112222"]
    for secret in secrets:
        assert secret not in logged, secret


async def test_a_tap_and_the_nik_posted_while_it_is_answered_are_handled_in_order(app, api):
    channel = await started(app, api, mode="webhook")
    api.delays["answerCallbackQuery"] = 0.3  # the tap's own network call is slow
    async with Webhook(app, channel) as hook:
        assert (await hook.post(text_update(1, 501, "/start"))).status_code == 200
        await api.wait_for(1)
        # Telegram posts the next update before the tap's request has been answered.
        tap = asyncio.create_task(hook.post(tap_update(2, 501, "coverage")))
        await asyncio.sleep(0.05)
        typed = await hook.post(text_update(3, 501, BUDI_NIK))
        assert typed.status_code == 200 and (await tap).status_code == 200
        sent = await api.wait_for(3)
    await channel.stop()
    assert sent[1]["text"].startswith("Ketik NIK Anda") and sent[2]["text"].startswith("Sekarang ketik tanggal lahir")


async def test_a_tap_and_the_nik_typed_after_it_in_one_batch_are_handled_in_order(app, api):
    channel = await started(app, api)
    api.push(text_update(1, 501, "/start"), text_update(2, 777, "/start"))
    polling = asyncio.create_task(channel.poll())
    try:
        await api.wait_for(2)
        # One getUpdates batch: a tap (network calls before it reaches the bot), then typing.
        api.push(tap_update(3, 501, "coverage"), text_update(4, 501, BUDI_NIK), text_update(5, 777, "bantuan"))
        sent = await api.wait_for(5)
    finally:
        polling.cancel()
        await channel.stop()
    to_budi = [call["text"] for call in sent if call["chat_id"] == "501"]
    assert to_budi[1].startswith("Ketik NIK Anda") and to_budi[2].startswith("Sekarang ketik tanggal lahir")


async def test_a_slow_or_absent_api_is_told_apart_through_python_telegram_bots_aiohttp_request(library):
    """The paced sender retries a timeout and a refused connection alike, but
    an operator reading the log must see which it was."""
    if library != "python-telegram-bot":
        pytest.skip("aiogram brings its own aiohttp session")
    async with BotApiStandIn(round_trip=2.0) as slow:
        bot = Bot(TOKEN, base_url=slow.base_url, request=AiohttpRequest(1, read_timeout=0.2))
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await bot.send_message(chat_id=601, text="halo")
        assert time.monotonic() - started < 1.5  # the read timeout, not the stand-in's round trip
        await bot.request.shutdown()

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{closed}/bot", request=AiohttpRequest(1))
    with pytest.raises(NetworkError) as refused:
        await bot.send_message(chat_id=601, text="halo")
    assert not isinstance(refused.value, TimedOut) and "Connect" in str(refused.value)
    await bot.request.shutdown()


async def test_aiogram_reads_its_answers_with_models_built_once(library, app, api):
    """pydantic keeps a parametrized model only weakly: unless the adapter
    holds aiogram's Response[...] models, every full garbage collection had
    the next answer build its model again (a fifth of the bot's CPU)."""
    if library != "aiogram":
        pytest.skip("python-telegram-bot reads its answers without pydantic")
    import gc
    import weakref

    from aiogram.client.session.base import Response
    from aiogram.methods import SendMessage

    from bot.channels.telegram_aiogram import AiogramApi
    from bot.channels.telegram_api import Part

    telegram = app.settings.telegram.model_copy(update={"base_url": api.base_url, "base_file_url": api.base_file_url})
    client = AiogramApi(TOKEN, telegram)
    try:
        await client.open()
        await client.send("601", Part("halo"))
        model = weakref.ref(Response[SendMessage.__returning__])
        gc.collect()
        assert model() is not None
        await client.send("601", Part("lagi"))
        assert Response[SendMessage.__returning__] is model()
    finally:
        await client.close()
    assert [call["text"] for call in await api.wait_for(2)] == ["halo", "lagi"]
