"""Notices end to end: a report filed on Telegram, with its photo, reaches
the operators' Telegram group and an operator's WhatsApp number through the
outbox drain, even when the first try fails, and a status change reaches the
reporter in their language, also at night."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.messages import Media
from storage import incidents
from storage.chats import open_chat
from tests.test_reminders import campaign, outbox_rows
from tests.test_transcript_incident import CHRONOLOGY
from tests.transcript import Chat

GROUP, OPERATOR = -100200300, "6281300000001"


async def test_a_report_reaches_the_operators_and_a_status_change_reaches_the_reporter(app, stand_ins):
    telegram_api, graph = stand_ins
    app.settings.telegram = app.settings.telegram.model_copy(update={"operator_chat_id": GROUP})
    app.settings.whatsapp = app.settings.whatsapp.model_copy(update={"operator_numbers": [OPERATOR]})
    drainer = campaign(app, telegram_api, graph)
    with app.db.transaction() as session:  # the WhatsApp operator wrote to the bot an hour ago: free text and files
        open_chat(session, channel="whatsapp", chat_id=OPERATOR, language="id", now=app.clock() - timedelta(hours=1))
    photo = app.settings.data_dir / "media" / "telegram" / "kaki.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8\xff\xe0 the injured leg")
    reporter = Chat(app, channel="telegram", chat_id="501")
    for line in (
        "halo",
        "Bahasa/Language",
        "English",
        "menu",
        "2",
        "Me",
        "1603010503800001",
        "05-03-1980",
        "1",
        "yesterday",
        "Kebun sawit",
        CHRONOLOGY,
    ):
        await reporter.says(line)
    await reporter.send(
        media=(Media(path=str(photo), sha256="c" * 64, mime_type="image/jpeg", size=22, caption="kaki kanan bengkak"),)
    )
    for line in ("Done", "081234567890", "1"):
        await reporter.says(line)
    [report] = [row for row in outbox_rows(app) if row.kind == "notice"][:1]
    assert "NEW REPORT" not in report.body and "LAPORAN BARU LK-2026-000001" in report.body  # operators read Indonesian
    assert "NIK 1603********0001" in report.body and "terlindungi pada tanggal kejadian" in report.body
    assert "1603010503800001" not in report.body and "Lampiran: 1 berkas\n• kaki kanan bengkak" in report.body

    # A failure the paced sender gives up on at once; the outbox tries again later.
    telegram_api.fail("sendMessage", chat_id=str(GROUP), status=400, description="Bad Request: chat not found")
    assert await drainer.drain(app.clock()) == {"retry": 1, "sent": 1}
    [(name, content, mime_type)] = graph.uploads.values()  # the photo went to the WhatsApp operator with the text
    assert (name, content, mime_type) == ("kaki.jpg", photo.read_bytes(), "image/jpeg")
    to_operator, photo_message = graph.bodies(OPERATOR)
    assert to_operator["text"]["body"].startswith("LAPORAN BARU") and photo_message["type"] == "image"
    assert photo_message["image"]["caption"] == "kaki kanan bengkak"
    app.clock.advance(minutes=5)
    assert await drainer.drain(app.clock()) == {"sent": 1}
    failed, to_group = [call for call in telegram_api.sent() if call["chat_id"] == str(GROUP)]
    assert failed == to_group and to_group["text"].startswith("LAPORAN BARU LK-2026-000001")
    [photo_to_group] = telegram_api.sent("sendPhoto")
    assert photo_to_group["chat_id"] == str(GROUP) and photo_to_group["photo"]["size"] == len(photo.read_bytes())
    assert photo_to_group["caption"] == "kaki kanan bengkak"

    night = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 23:00 in Muara Enim: quiet hours for reminders
    app.clock.now = night
    with app.db.transaction() as session:
        changed = incidents.set_status(
            session, reference="LK-2026-000001", status="diverifikasi", note="data cocok", actor="cli:ani", now=night
        )
        app.notices.status_changed(session, report=changed, note="data cocok", now=night)
    assert await drainer.drain(night) == {"sent": 1}
    told = telegram_api.sent()[-1]
    assert told["chat_id"] == "501"
    assert told["text"] == "News on report LK-2026-000001: its status is now Verified.\nOfficer's note: data cocok"
    for channel in drainer.channels.values():
        await channel.stop()
