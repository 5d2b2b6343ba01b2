"""The WhatsApp channel end to end: the real pywa client talks HTTP to the
stand-in Graph API, and signed webhook deliveries in the Cloud API's shapes
come in through the web app served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
import time

import httpx
from sqlalchemy import event
from sqlmodel import select

from bot.channels.pacing import Recipient
from bot.channels.whatsapp import SIGNATURE_HEADER, WhatsAppChannel, WhatsAppSecrets, render, shorten
from bot.config import TemplateSettings, WhatsAppPaceSettings
from bot.web import build_web
from handlers.messages import Choice, Outbound, TemplateRef
from storage.models import Chat, OutboundMessage, PendingInbound, ProcessedMessage
from tests.graph_standin import (
    PHONE_ID,
    TOKEN,
    button_reply,
    delivery,
    list_reply,
    message,
    status,
    text,
)
from tests.servers import Served
from tests.telegram_standin import most_in_any_second
from tests.test_telegram import probe_dispatcher
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK

SECRETS = WhatsAppSecrets(token=TOKEN, app_secret="app-secret-for-tests", verify_token="verify-me")
WARGA = "6281234567890"


# A person's replies at once: only the pacing tests keep Meta's 1 a second
# per person (they pass their own limits).
UNPACED_PEOPLE = WhatsAppPaceSettings(per_recipient_per_second=100)


def channel_for(app, graph, **whatsapp):
    app.settings.whatsapp = app.settings.whatsapp.model_copy(
        update={
            "enabled": True,
            "phone_number_id": PHONE_ID,
            "graph_base_url": graph.base_url,
            "pace": UNPACED_PEOPLE,
            **whatsapp,
        }
    )
    return WhatsAppChannel.of(app, SECRETS)


class Webhook(Served):
    """Our web app served on 127.0.0.1, posted to like Meta does (signed),
    with any other `sites` (the console) beside the webhook."""

    def __init__(self, app, channel, sites=()):
        super().__init__(build_web(db=app.db, metrics=app.metrics, channels=[channel], sites=list(sites)))
        self.channel = channel

    async def post(self, body, *, signature: str | None = "right") -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "right":
            headers[SIGNATURE_HEADER] = (
                "sha256=" + hmac.new(SECRETS.app_secret.encode(), raw, hashlib.sha256).hexdigest()
            )
        elif signature is not None:
            headers[SIGNATURE_HEADER] = signature
        return await self.client.post("/whatsapp", content=raw, headers=headers)

    async def say(self, *messages: dict) -> None:
        response = await self.post(delivery(messages=list(messages)))
        assert response.status_code == 200
        await self.settle()

    async def settle(self) -> None:
        while self.channel._handling:
            await asyncio.gather(*list(self.channel._handling))
        await self.channel.sender.drain()


def rows(app, model):
    with app.db.transaction() as session:
        return session.exec(select(model)).all()


async def test_the_handshake_echoes_the_challenge_for_the_right_token_only(app, graph):
    async with Webhook(app, channel_for(app, graph)) as hook:
        right = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
        ok = await hook.client.get("/whatsapp", params=right)
        wrong = await hook.client.get("/whatsapp", params={**right, "hub.verify_token": "guess"})
        no_mode = await hook.client.get("/whatsapp", params={"hub.challenge": "1"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert wrong.status_code == 403 and no_mode.status_code == 403


async def test_unsigned_or_badly_signed_deliveries_never_reach_the_database(app, graph):
    async with Webhook(app, channel_for(app, graph)) as hook:
        body = delivery(messages=[text("wamid.1", WARGA, "halo")])
        assert (await hook.post(body, signature=None)).status_code == 401
        assert (await hook.post(body, signature="sha256=" + "0" * 64)).status_code == 403
        tampered = json.dumps(body).encode().replace(b"halo", b"hola")
        signed_original = (
            "sha256=" + hmac.new(b"app-secret-for-tests", json.dumps(body).encode(), hashlib.sha256).hexdigest()
        )
        assert (await hook.post(tampered, signature=signed_original)).status_code == 403
    assert rows(app, PendingInbound) == [] and rows(app, ProcessedMessage) == [] and graph.posted == []


async def test_a_coverage_check_on_whatsapp(any_db_app, graph):
    app = any_db_app  # on PostgreSQL the webhook's transactions run in threads
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        await hook.say(list_reply("wamid.2", WARGA, "coverage", "Cek kepesertaan"))
        await hook.say(text("wamid.3", WARGA, "1603-0105-0380-0001"))
        await hook.say(text("wamid.4", WARGA, "5 Maret 1980"))
        await hook.say(button_reply("wamid.5", WARGA, "no", "Tidak"))
    await channel.stop()
    menu, ask_nik, ask_birth, card, consent, goodbye, again = graph.bodies()
    assert menu["to"] == WARGA and menu["type"] == "interactive"
    assert menu["interactive"]["type"] == "list"
    assert menu["interactive"]["body"]["text"].startswith("Halo! Saya Payung")
    assert menu["interactive"]["action"]["button"] == "Lihat pilihan"
    [section] = menu["interactive"]["action"]["sections"]
    assert [(row["id"], row["title"]) for row in section["rows"]] == [
        ("coverage", "Cek kepesertaan"),
        ("incident", "Lapor kejadian"),
        ("status", "Status laporan"),
        ("reminders", "Pengingat"),
        ("help", "Bantuan"),
        ("language", "Bahasa/Language"),
        ("helpdesk", "Bicara dengan petugas"),
    ]
    assert ask_nik["type"] == "text" and ask_nik["text"]["body"].startswith("Ketik NIK Anda")
    assert ask_birth["text"]["body"].startswith("Sekarang ketik tanggal lahir")
    # WARGA is the roster's phone for Budi: WhatsApp's sender proves the chat is his own.
    assert "Status: AKTIF" in card["text"]["body"] and "Nama: B*** S******" in card["text"]["body"]
    assert consent["interactive"]["type"] == "button"
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in consent["interactive"]["action"]["buttons"]] == [
        ("yes", "Ya"),
        ("no", "Tidak"),
    ]
    assert goodbye["text"]["body"].startswith("Baik, Anda tidak akan diingatkan")
    assert again["interactive"]["type"] == "list"
    # every message is recorded against the id WhatsApp gave it; nothing is left pending
    assert len([r for r in rows(app, OutboundMessage) if r.platform_message_id]) == 7
    assert rows(app, PendingInbound) == []


async def test_another_number_with_the_same_ktp_data_learns_only_whether_and_until_when(app, graph):
    channel = channel_for(app, graph)
    stranger = "6281399998888"
    async with Webhook(app, channel) as hook:
        for number, body in enumerate(("halo", "cek", "1603-0105-0380-0001", "5 Maret 1980")):
            await hook.say(text(f"wamid.{number}", stranger, body))
    await channel.stop()
    *_, answer, consent = graph.bodies(stranger)
    said = answer["text"]["body"]
    assert "Status: AKTIF" in said and "Nama" not in said and "Talang Demo" not in said and "8901" not in said
    assert "Jika nomor Anda sudah ganti, minta kantor desa memperbaruinya." in said
    assert [b["reply"]["id"] for b in consent["interactive"]["action"]["buttons"]] == ["yes", "no"]


def test_three_choices_are_buttons_ten_a_list_eleven_numbered_text():
    def choices(count: int, title: str = "Pilihan") -> tuple[Choice, ...]:
        return tuple(Choice(f"c{n}", f"{title} {n}") for n in range(1, count + 1))

    [three] = render(Outbound("Pilih", choices=choices(3)), list_button="Lihat pilihan")
    [ten] = render(Outbound("Pilih", choices=choices(10)), list_button="Lihat pilihan")
    [eleven] = render(Outbound("Pilih", choices=choices(11)), list_button="Lihat pilihan")
    assert (three.kind, len(three.rows)) == ("buttons", 3)
    assert (ten.kind, len(ten.rows)) == ("list", 10)
    assert eleven.kind == "text" and eleven.text.endswith("10. Pilihan 10\n11. Pilihan 11")
    [long] = render(Outbound("Pilih", choices=choices(2, "Kecelakaan dalam perjalanan kerja")), list_button="x")
    assert [row.title for row in long.rows] == ["Kecelakaan dalam…", "Kecelakaan dalam…"]
    assert shorten("Meninggal dunia bukan karena kecelakaan kerja", 24) == "Meninggal dunia bukan…"
    assert shorten("Supercalifragilisticexpialidocious", 20) == "Supercalifragilisti…"


async def test_titles_too_long_for_buttons_go_as_a_list_and_are_shown_whole(app, graph):
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))  # opens the 24-hour window
        titles = ["Kecelakaan saat bekerja di kebun", "Kecelakaan dalam perjalanan kerja", "Penyakit akibat kerja"]
        app.sending.submit(
            channel,
            WARGA,
            Outbound("Apa yang terjadi?", choices=tuple(Choice(f"k{n}", t) for n, t in enumerate(titles))),
        )
        await hook.settle()
    await channel.stop()
    [section] = graph.bodies()[-1]["interactive"]["action"]["sections"]
    assert [(row["title"], row.get("description")) for row in section["rows"]] == [
        ("Kecelakaan saat…", "Kecelakaan saat bekerja di kebun"),
        ("Kecelakaan dalam…", "Kecelakaan dalam perjalanan kerja"),
        ("Penyakit akibat kerja", None),
    ]


async def test_a_thousand_redeliveries_of_one_wamid_are_answered_once(any_db_app, graph):
    app = any_db_app
    channel = channel_for(app, graph)
    body = delivery(messages=[text("wamid.same", WARGA, "halo")])
    async with Webhook(app, channel) as hook:
        for _ in range(50):
            statuses = await asyncio.gather(*(hook.post(body) for _ in range(20)))
            assert {response.status_code for response in statuses} == {200}
        await hook.settle()
    await channel.stop()
    assert len(graph.posted) == 1 and len(rows(app, ProcessedMessage)) == 1 and rows(app, PendingInbound) == []


async def test_outside_24_hours_only_a_template_goes_out(app, graph, clock):
    channel = channel_for(
        app,
        graph,
        templates={
            "reminder_7": TemplateSettings(
                name="pengingat_perlindungan", language="id", parameters=["name", "end_date"]
            ),
        },
    )
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        clock.advance(hours=23, minutes=59, seconds=59)
        app.sending.submit(channel, WARGA, Outbound("masih di dalam jendela"))
        await hook.settle()
        clock.advance(seconds=2)  # 24 h + 1 s after the person's message
        template = TemplateRef("reminder_7", (("name", "B*** S******"), ("end_date", "31 Desember 2026")))
        app.sending.submit(channel, WARGA, Outbound("Perlindungan Anda berakhir 31 Desember 2026", template=template))
        app.sending.submit(channel, WARGA, Outbound("teks bebas tanpa template"))
        await hook.settle()
    await channel.stop()
    inside, sent = graph.bodies()[-2:]
    assert inside["text"]["body"] == "masih di dalam jendela"
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "pengingat_perlindungan" and sent["template"]["language"]["code"] == "id"
    assert sent["template"]["components"] == [
        {
            "type": "body",
            "parameters": [{"type": "text", "text": "B*** S******"}, {"type": "text", "text": "31 Desember 2026"}],
        }
    ]
    [skipped] = [r for r in rows(app, OutboundMessage) if r.status == "skipped"]
    assert "outside the 24-hour window" in skipped.detail and skipped.chat_id == WARGA


async def test_a_message_stored_before_a_crash_is_handled_on_start(any_db_app, graph):
    app = any_db_app
    crashed = channel_for(app, graph)
    # stored, 200 sent, then the crash
    stored = await crashed.receive(delivery(messages=[text("wamid.1", WARGA, "halo")]))
    assert len(stored) == 1 and len(rows(app, PendingInbound)) == 1 and graph.posted == []
    restarted = channel_for(app, graph)
    assert await restarted.recover() == 1
    await restarted.sender.drain()
    await restarted.stop()
    assert graph.bodies()[0]["interactive"]["body"]["text"].startswith("Halo! Saya Payung")
    assert rows(app, PendingInbound) == []


async def test_a_handled_message_a_crash_left_stored_is_not_answered_again_on_start(app, graph):
    """A crash between answering a message and forgetting it leaves it
    stored: the next start hands it over again, and the dispatcher, which
    knows its id, answers nothing twice."""
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        await hook.settle()
    await channel.stop()
    assert len(graph.posted) == 1 and rows(app, PendingInbound) == []
    await channel.receive(delivery(messages=[text("wamid.1", WARGA, "halo")]))  # as the crash would have left it
    restarted = channel_for(app, graph)
    assert await restarted.recover() == 1
    await restarted.sender.drain()
    await restarted.stop()
    assert len(graph.posted) == 1 and rows(app, PendingInbound) == []


async def test_statuses_are_recorded_and_an_undeliverable_person_made_inactive(app, graph):
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        [sent] = [r.platform_message_id for r in rows(app, OutboundMessage)]
        await hook.post(delivery(statuses=[status(sent, WARGA, "delivered")]))
        assert rows(app, OutboundMessage)[0].status == "delivered"
        await hook.post(delivery(statuses=[status(sent, WARGA, "failed", code=131026, title="Message undeliverable")]))
    await channel.stop()
    [record] = rows(app, OutboundMessage)
    assert (record.status, record.detail) == ("failed", "131026: Message undeliverable")
    [chat] = rows(app, Chat)
    assert chat.active is False


async def test_deliveries_arriving_together_are_stored_in_one_transaction_each_with_its_own_messages(app, graph):
    """A sent message's every status comes as a webhook of its own: stored
    together they cost one commit, not one each."""
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        [sent] = [r.platform_message_id for r in rows(app, OutboundMessage)]
        commits = []

        def committed(_connection) -> None:
            commits.append(1)

        event.listen(app.db.engine, "commit", committed)
        try:
            arriving = [
                channel.receive(delivery(statuses=[status(sent, WARGA, "delivered")])),
                channel.receive(delivery(messages=[text("wamid.2", WARGA, "1")])),
                channel.receive(delivery(statuses=[status(sent, WARGA, "read")])),
            ]
            delivered, second, read = await asyncio.gather(*arriving)
        finally:
            event.remove(app.db.engine, "commit", committed)
        assert len(commits) == 1
        assert delivered == read == []
        assert [payload["id"] for _, payload in second] == ["wamid.2"]
        assert rows(app, OutboundMessage)[0].status == "read"
        channel.handle_later(second)
        await hook.settle()
    await channel.stop()
    assert graph.bodies()[-1]["text"]["body"].startswith("Ketik NIK Anda")
    assert rows(app, PendingInbound) == []


async def test_a_delivery_that_cannot_be_stored_is_asked_for_again_and_the_one_stored_beside_it_is_answered(app, graph):
    with app.db.engine.begin() as connection:  # the database itself refuses one message
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON pending_inbound WHEN NEW.message_id = 'wamid.refused' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        refused, stored = await asyncio.gather(  # queued together: one transaction, until it fails
            channel.receive(delivery(messages=[text("wamid.refused", WARGA, "halo")])),
            channel.receive(delivery(messages=[text("wamid.1", WARGA, "halo")])),
            return_exceptions=True,
        )
        assert isinstance(refused, Exception) and [payload["id"] for _, payload in stored] == ["wamid.1"]
        channel.handle_later(stored)
        again = await hook.post(delivery(messages=[text("wamid.refused", WARGA, "halo")]))
        assert again.status_code == 500  # Meta delivers it again later
        await hook.settle()
    await channel.stop()
    assert len(graph.posted) == 1 and graph.bodies()[0]["interactive"]["body"]["text"].startswith("Halo! Saya Payung")
    assert rows(app, PendingInbound) == []


async def test_what_cannot_be_read_gets_a_polite_answer_and_garbage_a_200(app, graph):
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(message("wamid.s", WARGA, "sticker", {"id": "st-1", "mime_type": "image/webp"}))
        await hook.say(message("wamid.r", WARGA, "reaction", {"message_id": "wamid.x", "emoji": "👍"}))
        for garbage in (
            b"{not json",
            {"object": "x", "entry": "nope"},
            {"entry": [{"changes": [{"value": {"messages": [{"no": "id"}]}, "field": "messages"}]}]},
        ):
            assert (await hook.post(garbage)).status_code == 200
        await hook.settle()
    await channel.stop()
    answers = [body["text"]["body"] for body in graph.bodies()]
    unreadable = app.services.catalogue["id"]("refused.unsupported")
    assert answers == [unreadable] * 2 and "pesan suara" in unreadable


async def test_the_sender_number_location_and_photos_reach_the_step(app, graph):
    channel = channel_for(app, graph)
    channel.dispatcher = probe_dispatcher(app)
    photo = b"\xff\xd8\xff\xe0 foto kaki"
    graph.media["media-1"] = (photo, "image/jpeg")
    graph.media["media-big"] = (b"x" * (2 * 1024 * 1024), "application/pdf")
    voice_note = b"OggS pesan suara"
    graph.media["voice-1"] = (voice_note, "audio/ogg; codecs=opus")
    app.settings.max_file_mb = 1
    channel.max_file_bytes = 1024 * 1024
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        await hook.say(message("wamid.2", WARGA, "location", {"latitude": -3.65, "longitude": 103.77, "name": "Kebun"}))
        await hook.say(
            message("wamid.3", WARGA, "image", {"id": "media-1", "mime_type": "image/jpeg", "caption": "kaki saya"})
        )
        await hook.say(message("wamid.4", WARGA, "document", {"id": "media-big", "mime_type": "application/pdf"}))
        voice = {"id": "voice-1", "mime_type": "audio/ogg; codecs=opus", "voice": True}
        await hook.say(message("wamid.5", WARGA, "audio", voice))
    await channel.stop()
    said = [body["text"]["body"] for body in graph.bodies()[1:]]
    assert said[0].startswith("contact=None location=Location(latitude=-3.65, longitude=103.77)")
    digest = hashlib.sha256(photo).hexdigest()
    assert said[1].endswith(f"media={[(digest, len(photo), 'image/jpeg', photo, 'kaki saya')]} text=kaki saya")
    assert "berkas terlalu besar" in said[2]
    voiced = hashlib.sha256(voice_note).hexdigest()
    assert said[3].endswith(f"media={[(voiced, len(voice_note), 'audio/ogg', voice_note, '')]} text=")


async def test_rate_limits_are_retried_and_other_errors_recorded(app, graph):
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        graph.fail(WARGA, code=130429, message="Rate limit hit", status=400, times=1)
        app.sending.submit(channel, WARGA, Outbound("dicoba lagi"))
        await hook.settle()
        graph.fail(WARGA, code=131009, message="Parameter value is not valid")
        app.sending.submit(channel, WARGA, Outbound("ditolak"))
        await hook.settle()
    await channel.stop()
    assert [b["text"]["body"] for b in graph.bodies()[1:]] == ["dicoba lagi", "dicoba lagi", "ditolak"]
    [failed] = [r for r in rows(app, OutboundMessage) if r.status == "failed"]
    assert "Parameter value is not valid" in failed.detail


async def test_on_a_slow_link_the_rate_holds_because_the_answers_trip_back_is_not_counted(app, graph):
    """Ten people at 5 a second with a half-second round trip, through pywa."""
    graph.round_trip = 0.5
    channel = channel_for(app, graph, pace=WhatsAppPaceSettings(per_second=5, in_flight=10))
    people = [f"62812000000{n:02d}" for n in range(10)]
    for number in people:
        channel.sender.submit(Recipient(number), functools.partial(channel.client.send_message, number, "pesan"))
    await channel.sender.drain()
    await channel.stop()
    times = sorted(posted.at for posted in graph.posted)
    assert len(times) == 10 and most_in_any_second(times) == 5
    assert times[-1] - times[0] < 1.3  # counting the way back too would make it 1.5 at least


async def test_one_person_gets_one_message_a_second_while_others_get_theirs(app, graph):
    """Meta's pair limit: three messages to one person go a second apart;
    ten others' do not wait behind them."""
    channel = channel_for(app, graph, pace=WhatsAppPaceSettings())
    busy, others = "6281200000099", [f"62812000000{n:02d}" for n in range(10)]
    for number in [busy] * 3 + others:
        channel.sender.submit(Recipient(number), functools.partial(channel.client.send_message, number, "pesan"))
    await channel.sender.drain()
    await channel.stop()
    started = min(posted.at for posted in graph.posted)
    to_busy = [posted.at for posted in graph.posted if posted.body["to"] == busy]
    to_others = [posted.at for posted in graph.posted if posted.body["to"] != busy]
    assert len(to_busy) == 3 and most_in_any_second(to_busy) == 1
    assert len(to_others) == 10 and max(to_others) - started < 1  # not behind the busy one's two seconds


async def test_a_bot_with_replies_piling_up_takes_no_more_deliveries_until_some_are_out(app, graph):
    """Meta keeps what the webhook has not acknowledged: a bot with
    `queue_limit` messages in hand (replies not yet out, messages not yet
    answered) acknowledges the next delivery only once one of them is out."""
    app.sending.queue_limit = 3
    channel = channel_for(app, graph, pace=WhatsAppPaceSettings(per_second=5))
    people = [f"62812000000{n:02d}" for n in range(12)]
    acknowledged = []
    async with Webhook(app, channel) as hook:
        for number, person in enumerate(people):
            assert (await hook.post(delivery(messages=[text(f"wamid.{number}", person, "halo")]))).status_code == 200
            acknowledged.append(time.monotonic())
        await hook.settle()
    await channel.stop()
    out = sorted(posted.at for posted in graph.posted)
    # Let in once fewer than 3 are in hand: the k-th after the (k-3)-th reply
    # is out, give or take the one whose handling had not started yet.
    assert all(acknowledged[k] >= out[k - 4] for k in range(4, 12)), (acknowledged, out)
    assert sorted(body["to"] for body in graph.bodies()) == people  # each answered once


async def test_a_template_parameter_goes_as_one_line_as_the_cloud_api_requires(app, graph, clock):
    channel = channel_for(app, graph, templates={"notice": TemplateSettings(name="pemberitahuan", parameters=["text"])})
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        clock.advance(days=2)
        written = "Laporan LK-2026-000001:\n\tstatus Diverifikasi.\n\nCatatan:      bawa e-KTP."
        app.sending.submit(channel, WARGA, Outbound(written, template=TemplateRef("notice", (("text", written),))))
        await hook.settle()
    await channel.stop()
    [parameter] = graph.bodies()[-1]["template"]["components"][0]["parameters"]
    assert parameter["text"] == "Laporan LK-2026-000001: status Diverifikasi. Catatan: bawa e-KTP."


async def test_the_window_opens_again_after_a_day_when_the_person_writes(app, graph, clock):
    channel = channel_for(app, graph)
    async with Webhook(app, channel) as hook:
        await hook.say(text("wamid.1", WARGA, "halo"))
        clock.advance(days=2)
        await hook.say(text("wamid.2", WARGA, "menu"))
    await channel.stop()
    # two days on, the reply still goes out free-form: the person wrote first
    assert len(graph.bodies()) == 2 and all(r.status != "skipped" for r in rows(app, OutboundMessage))


async def raw_post(client: httpx.AsyncClient, headers: dict[str, str], sent: bytes) -> bytes:
    """A POST that declares `headers` but sends only `sent` of its body, then
    waits for an answer: what a server that reads first would never give."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.base_url.port)
    lines = ["POST /whatsapp HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    writer.write("\r\n".join(lines).encode() + sent)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()


async def test_an_unsigned_or_oversized_body_is_refused_before_it_is_read(app, graph):
    channel = channel_for(app, graph)
    big, under_the_cap = str(300 * 2**20), str(900_000)
    async with Webhook(app, channel) as hook:
        # 900 KB declared, 11 bytes sent: only a server that checks the header first answers at all.
        unsigned = await raw_post(hook.client, {"Content-Length": under_the_cap}, b'{"entry": [')
        malformed = await raw_post(hook.client, {"Content-Length": under_the_cap, SIGNATURE_HEADER: "sha1=abc"}, b"{")
        signed = {"Content-Length": big, SIGNATURE_HEADER: "sha256=" + "0" * 64}
        declared_too_big = await raw_post(hook.client, signed, b"{")

        # No length declared: the body is cut off where it passes the cap.
        async def chunks():
            for _ in range(32):  # 2 MB
                yield b"x" * 2**16

        streamed = await hook.client.post(
            "/whatsapp", content=chunks(), headers={SIGNATURE_HEADER: "sha256=" + "0" * 64}
        )
        deep = b"[" * 100_000 + b"]" * 100_000  # signed, small, and nested past any parser's depth
        assert (await hook.post(deep)).status_code == 200  # a 500 would have Meta resend it for days
        assert (await hook.post(delivery(messages=[text("wamid.ok", WARGA, "halo")]))).status_code == 200
    await channel.stop()
    assert unsigned.startswith(b"HTTP/1.1 401") and malformed.startswith(b"HTTP/1.1 401")
    assert declared_too_big.startswith(b"HTTP/1.1 413") and streamed.status_code == 413
    assert rows(app, ProcessedMessage) and graph.bodies()  # a real delivery still goes through


async def test_slow_clients_holding_connections_do_not_block_a_real_delivery(app, graph):
    from bot.service import web_server
    from tests.servers import serve, stop

    channel = channel_for(app, graph)
    web = build_web(db=app.db, metrics=app.metrics, channels=[channel])
    settings = app.settings.web.model_copy(update={"host": "127.0.0.1", "max_connections": 300})
    server, port = await serve(web, web_server(web, settings, port=0))
    slow = []
    try:
        for _ in range(200):  # each sends half a request line and then nothing (slowloris)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            slow.append(writer)
        body = json.dumps(delivery(messages=[text("wamid.real", WARGA, "halo")])).encode()
        signed = "sha256=" + hmac.new(SECRETS.app_secret.encode(), body, hashlib.sha256).hexdigest()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await asyncio.wait_for(
                client.post("/whatsapp", content=body, headers={SIGNATURE_HEADER: signed}), timeout=5
            )
        assert response.status_code == 200
    finally:
        for writer in slow:
            writer.close()
        await stop(server)
        await channel.stop()


async def test_a_photo_the_api_cannot_serve_becomes_a_dead_letter_and_the_sender_is_told(app, graph, tmp_path):
    from tests.test_cli import payung

    channel = channel_for(app, graph, inbound_attempts=3, inbound_retry_seconds=0.01)
    async with Webhook(app, channel) as hook:
        await hook.say(message("wamid.p", WARGA, "image", {"id": "gone-1", "mime_type": "image/jpeg"}))
        await hook.say(message("wamid.l", WARGA, "location", {"latitude": "utara", "longitude": "x"}))
    await channel.stop()
    told = [body["text"]["body"] for body in graph.bodies(WARGA)]
    assert told == [app.services.catalogue["id"]("refused.unreadable")] * 2
    [letter_1, letter_2] = rows(app, PendingInbound)
    assert (letter_1.attempts, letter_2.attempts) == (3, 3) and letter_1.dead_at and letter_2.dead_at
    assert letter_1.payload == {"from": WARGA, "id": "wamid.p", "type": "image"}  # no content kept
    restarted = channel_for(app, graph)
    assert await restarted.recover() == 0  # a dead letter is not tried again at every start
    await restarted.stop()
    database = {"PAYUNG_DATABASE_URL": str(app.settings.database_url), "PAYUNG_NIK_KEY": "k" * 40}
    listed = payung(tmp_path, "inbox", "dead", env=database)
    assert "Dead letters (2)" in listed.stdout and "image" in listed.stdout and "location" in listed.stdout


async def test_a_photo_and_the_word_after_it_in_one_delivery_are_handled_in_order(app, graph):
    channel = channel_for(app, graph)
    graph.media["media-1"] = (b"\xff\xd8\xff\xe0 foto", "image/jpeg")
    async with Webhook(app, channel) as hook:
        for number, line in enumerate(("halo", "lapor", "1", BUDI_NIK, BUDI_BORN, "1", "kemarin", "Kebun sawit")):
            await hook.say(text(f"wamid.{number}", WARGA, line))
        await hook.say(text("wamid.story", WARGA, "Jatuh dari pohon sawit saat panen buah."))
        photo = message("wamid.photo", WARGA, "image", {"id": "media-1", "mime_type": "image/jpeg"})
        await hook.say(photo, text("wamid.done", WARGA, "selesai"))  # one POST: the download must not be overtaken
    await channel.stop()
    received, asked_phone = [body for body in graph.bodies(WARGA)][-2:]
    assert "Diterima (1 dari 5)" in received["interactive"]["body"]["text"]
    assert "Petugas bisa menghubungi nomor ini" in asked_phone["interactive"]["body"]["text"]


async def test_a_check_a_report_and_an_officer_link_at_debug_log_no_nik_birth_date_or_phone(app, graph, capfd):
    from bot.logs import configure_logging
    from tests.test_transcript_incident import own_report
    from tests.test_transcript_officer import RINA_BORN, RINA_NIK, with_rina

    with_rina(app)
    rina = "6281211112222"
    budi_says = ["halo", "cek", "1603 0105 0380 0001", "5 Maret 1980", "tidak", "lapor", "1", *own_report()[3:]]
    scripts = {WARGA: [*budi_says, "Kirim laporan"], rina: ["halo", "perangkat", RINA_NIK, RINA_BORN]}
    configure_logging("DEBUG")
    try:
        logging.getLogger("bot.test").debug("debug is on")
        # Each reply is awaited before the next message: lift the 1 a second per person.
        channel = channel_for(app, graph, pace=WhatsAppPaceSettings(per_second=1000, per_recipient_per_second=1000))
        async with Webhook(app, channel) as hook:
            for number, said in ((number, said) for number, script in scripts.items() for said in script):
                await hook.say(text(f"wamid.{number}.{len(graph.posted)}", number, said))
        await channel.stop()
    finally:
        root = logging.getLogger()
        root.handlers.clear()
        root.setLevel(logging.WARNING)
    said = [body["text"]["body"] for body in graph.bodies() if body["type"] == "text"]
    assert any("Nama: B*** S******" in text for text in said)
    assert any(text.startswith("Laporan terkirim") for text in said), said
    assert any(text.startswith("Terhubung sebagai Sekretaris desa") for text in said), said
    logged = capfd.readouterr().err
    assert "DEBUG bot.test: debug is on" in logged
    secrets = ["1603 0105 0380 0001", BUDI_NIK, "5 Maret 1980", BUDI_BORN, WARGA, "1234567890", RINA_NIK, RINA_BORN]
    for secret in [*secrets, "81211112222"]:
        assert secret not in logged, secret
