"""Renewal: what reminders say comes after the cover, for each of the
regency's decisions, on both channels across the end of the year; a person
renewed in the middle of the countdown, one renewed after a lapse, and one
never renewed each get the right messages once; the village officers'
digest; the help topic and the Pengingat menu; the decision recorded from
the command line and the console."""

from __future__ import annotations

import html
import io
from collections import Counter, defaultdict
from datetime import date

import pytest
from sqlalchemy import select

from bot.channels.console import ConsoleChannel
from bot.config import TemplateSettings
from bot.console.routes import console_site
from bot.ops.authority import Actor, Invalid
from bot.ops.renewal import decide
from bot.ops.roster import COLUMNS, import_roster, open_roster
from bot.reminder_plan import template_key
from bot.web import build_web
from storage.renewal import Decision
from storage.tables import CONSOLE_AUDIT
from tests.conftest import ADMIN, BUDI, build, write_csv
from tests.console_world import log_in, make_accounts
from tests.servers import served_in_thread
from tests.test_reminders import STAGE_TIMES, STAGES, at, campaign, consenting
from tests.test_transcript_incident import BUDI_BORN, BUDI_NIK
from tests.test_transcript_officer import RINA_BORN, RINA_NIK, with_rina
from tests.transcript import Chat

# What each decision makes a reminder say, in Indonesian and in English.
SAYS = {
    "unknown": ("Kabupaten Muara Enim belum memutuskan", "Kabupaten Muara Enim has not yet decided"),
    "planned": ("memperpanjang perlindungan ini mulai 1 Januari 2027", "plans to renew this cover from 1 January 2027"),
    "confirmed": ("NIK ini belum ada di daftar perpanjangan", "This NIK is not on the renewal list yet"),
    "not_renewed": ("Kabupaten Muara Enim tidak memperpanjang", "Kabupaten Muara Enim does not renew"),
}  # fmt: skip
GO_ALONE = ("sebagai peserta BPU di aplikasi JMO", "as a BPU participant in the JMO app")
RENEWED = ("diperpanjang sampai 31 Desember 2027", "renewed until 31 December 2027")
NEW_PERIOD = {"mulai": "2027-01-01", "berakhir": "2027-12-31"}


def wire(app, telegram_api, graph):
    """The campaign's drainer; WhatsApp has a template of its own for each stage and the renewal news."""
    reminder = ["nik", "end_date", "days_left", "renewal"]
    templates = {key: TemplateSettings(name=key, parameters=reminder) for key in map(template_key, STAGES)}
    templates["renewal"] = TemplateSettings(name="renewal", parameters=["nik", "end_date"])
    return campaign(app, telegram_api, graph, templates)


def renew(app, people: list[dict], **period: str) -> None:
    """Import a roster that gives these people a new period."""
    rows = [{**{column: person[column] for column in COLUMNS}, **period} for person in people]
    roster = write_csv(app.settings.data_dir / f"renewal-{len(rows)}-{app.clock():%m%d%H}.csv", rows)
    import_roster(
        open_roster(roster), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=app.clock(), batch_size=100
    )


@pytest.mark.parametrize("state", list(SAYS))
async def test_across_the_year_end_each_person_gets_the_right_messages_once(app, clock, stand_ins, state):
    telegram_api, graph = stand_ins
    clock.now = at(30, 11)
    # Six people, each followed by one chat: 0 and 1 are renewed in the middle
    # of the countdown, 2 and 3 after a lapse, 4 and 5 never. Even chats are
    # on Telegram, odd ones on WhatsApp; 0 and 3 read English.
    people = consenting(app, 6)
    with app.db.transaction() as session:
        start = date(2027, 1, 1) if state == "planned" else None
        current = app.services.settings.renewal.decision(session)
        decide(session, actor=ADMIN, current=current, state=state, expected_start=start, now=clock())
    drainer = wire(app, telegram_api, graph)

    async def drain(moment) -> None:
        clock.now = moment
        app.planner().plan(moment)
        await drainer.drain(moment)

    for moment in STAGE_TIMES[:2]:
        await drain(moment)
    clock.now = at(20)
    renew(app, people[0:2], **NEW_PERIOD)  # renewed in the middle of the countdown
    await drain(at(20))
    for moment in STAGE_TIMES[2:]:
        await drain(moment)
    clock.now = at(15, 1, hour=21, year=2027)
    renew(app, people[2:4], mulai="2027-02-01", berakhir="2027-12-31")  # after a lapse, at night
    await drain(at(15, 1, hour=21, year=2027))  # the news waits for the morning
    await drain(at(16, 1, year=2027))
    renew(app, people[0:2], **NEW_PERIOD)  # the same file again: nobody is told twice
    await drain(at(17, 1, year=2027))
    for channel in drainer.channels.values():
        await channel.stop()

    heard: dict[str, list[tuple[str, str]]] = defaultdict(list)  # chat -> (what, words)
    for call in telegram_api.sent():
        heard[call["chat_id"]].append(("text", call["text"]))
    for body in graph.bodies():
        words = " ".join(parameter["text"] for parameter in body["template"]["components"][0]["parameters"])
        heard[body["to"]].append((body["template"]["name"], words))
    said, after = SAYS[state]
    # chat -> how many reminders it gets, and whether it hears of a renewal
    expected = {0: (2, True), 1: (2, True), 2: (5, True), 3: (5, True), 4: (5, False), 5: (5, False)}
    for number, (expected_stages, renewed) in expected.items():
        chat = str(700_000 + number)
        english = number % 3 == 0
        messages = heard[chat]
        assert len(messages) == expected_stages + renewed, (chat, messages)
        for stage, (name, words) in zip(STAGES, messages[:expected_stages], strict=False):
            assert name == ("text" if number % 2 == 0 else template_key(stage)), (chat, name)
            assert (after if english else said) in words, (chat, stage, words)
            goes_alone = state in ("unknown", "not_renewed") and stage in (30, 7, -1)
            assert (GO_ALONE[english] in words) == goes_alone, (chat, stage, words)
            if goes_alone:
                assert "Rp16.800" in words  # programme.bpu's figure, never one from the texts
        if renewed:
            name, words = messages[-1]
            if number % 2 == 0:
                assert name == "text" and RENEWED[english] in words, (chat, words)
            else:  # the "renewal" template, given the masked NIK and the new end
                assert name == "renewal" and words.endswith(RENEWED[english][-16:]), (chat, words)


async def test_a_village_officer_hears_who_was_renewed_and_who_was_not(tmp_path, database_url, clock):
    clock.now = at(20)
    app = build(tmp_path, database_url, clock)  # Talang Demo: Budi, Lama Selesai, Akhir Hari, and Baru Nanti (2027)
    with_rina(app)
    officer = Chat(app, chat_id="rina")
    for line in ("halo", "perangkat", RINA_NIK, RINA_BORN, "0812 1111 2222"):
        await officer.says(line)
    renew(app, [BUDI], **NEW_PERIOD)
    with app.db.transaction() as session:
        current = app.services.settings.renewal.decision(session)
        _, digests = decide(session, actor=ADMIN, current=current, state="confirmed", now=clock())
    assert digests == 1
    printed = io.StringIO()
    drainer = app.drainer({"console": ConsoleChannel(app.dispatcher, app.sending, chat_id="-", output=printed)})
    assert await drainer.drain(at(20, hour=21)) == Counter()  # not at night
    assert await drainer.drain(at(21)) == Counter(sent=1)
    assert printed.getvalue().split("[rina]\n")[1].strip() == (
        "Perpanjangan desa Talang Demo: 2 warga diperpanjang sampai 31 Desember 2027. 2 warga belum ada di "
        "daftar baru: Akhir Hari, Lama Selesai. Bantu mereka bertanya ke Dinas PMD Kabupaten Muara Enim "
        "(NOMOR CONTOH, ganti sebelum dipakai), atau mendaftar sendiri sebagai peserta BPU."
    )
    with app.db.transaction() as session:  # confirming again sends no second digest
        current = app.services.settings.renewal.decision(session)
        assert decide(session, actor=ADMIN, current=current, state="confirmed", now=clock())[1] == 0
    assert await drainer.drain(at(22)) == Counter()
    app.close()


async def test_the_help_topic_and_the_pengingat_menu_say_what_comes_after(app):
    chat = Chat(app)
    await chat.run("""
        > bantuan
        > 7
        Kabupaten Muara Enim belum memutuskan apakah perlindungan ini diperpanjang.
        Agar tetap terlindungi, daftar sendiri sebagai peserta BPU di aplikasi JMO,
        kantor cabang BPJS Ketenagakerjaan, atau agen PERISAI.
        Iurannya sekitar Rp16.800 sebulan (JKK dan JKM). Mulai bayar setelah 31 Desember 2026
        Bantuan. Pilih topik:
    """)
    for line in ("menu", "1", BUDI_NIK, BUDI_BORN, "ya"):
        await chat.says(line)
    with app.db.transaction() as session:
        current = app.services.settings.renewal.decision(session)
        decide(session, actor=ADMIN, current=current, state="not_renewed", note_id="  Anggaran\n2027 tidak ada. ",
               now=app.clock())  # fmt: skip
    await chat.run("""
        > pengingat
        Pengingat aktif untuk: NIK 1603********0001.
        Kabupaten Muara Enim tidak memperpanjang perlindungan ini. Anggaran 2027 tidak ada.
        [Matikan pengingat | Kembali ke menu]
    """)


def test_an_admin_records_the_decision_in_the_console_and_others_read_it(tmp_path, database_url, clock):
    app = build(tmp_path, database_url, clock)
    make_accounts(app)
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        admin, token = log_in(url, "admin")
        assert "belum diputuskan" in admin.get("/console/renewal").text
        form = {"csrf": token, "state": "planned", "expected_start": "1 Januari", "note_id": "Menunggu APBD."}
        assert admin.post("/console/renewal/decide", data=form).status_code == 303
        assert "'1 Januari' is not a date like 2026-11-27" in html.unescape(admin.get("/console/renewal").text)
        form["expected_start"] = "2027-01-01"
        assert admin.post("/console/renewal/decide", data=form).status_code == 303
        operator, _ = log_in(url, "operator")
        page = operator.get("/console/renewal").text
        assert "direncanakan" in page and "1 Jan 2027" in page and "Menunggu APBD." in page and "console:ani" in page
        assert "Simpan keputusan" not in page  # an operator reads it, and has no form
    with app.db.transaction() as session:
        assert app.services.settings.renewal.decision(session) == Decision(
            period_end=date(2026, 12, 31),
            state="planned",
            expected_start=date(2027, 1, 1),
            note_id="Menunggu APBD.",
            set_by="console:ani",
            set_at=clock(),
        )
        audit = session.connection().execute(select(CONSOLE_AUDIT.c.detail).where(CONSOLE_AUDIT.c.action == "renewal"))
        assert audit.scalars().all() == ["planned; start 2027-01-01; decided -"]
    app.close()


def test_a_district_limited_admin_cannot_decide_for_the_whole_regency(app):
    lubai_admin = Actor("console:lia", "admin", frozenset({"Lubai"}))
    with app.db.transaction() as session, pytest.raises(Invalid, match="decided for the whole regency"):
        current = app.services.settings.renewal.decision(session)
        decide(session, actor=lubai_admin, current=current, state="not_renewed", now=app.clock())
    with app.db.transaction() as session:
        assert app.services.settings.renewal.decision(session).state == "unknown"
