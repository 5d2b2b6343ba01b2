"""The commands as operators and the README run them, each in a process of its
own: forked from a server that has loaded the libraries (tests/processes.py),
or a fresh interpreter where the cold start itself is tested."""

from __future__ import annotations

import csv
import re
import signal
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import openpyxl

from tests.conftest import BUDI, write_csv
from tests.processes import ForkedBot, bot_environment, free_port


def payung(cwd: Path, *args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return ForkedBot(cwd, list(args), env=bot_environment(**(env or {})), stdin=stdin).finish(timeout=120)


def started(cwd: Path, *args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m bot` in a fresh interpreter, as the README runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=bot_environment(**(env or {})),
        timeout=120,
    )


def test_chat_on_a_fresh_machine_loads_the_demo_and_a_sample_pair_works(tmp_path):
    first = started(tmp_path, "chat", stdin="halo\n")
    assert first.returncode == 0, first.stderr
    samples = re.findall(r"try NIK (\d{16}) with birth date (\d\d-\d\d-\d{4})", first.stdout)
    assert len(samples) == 2
    assert "PAYUNG_NIK_KEY is not set" in first.stderr
    key = tmp_path / "data" / "nik.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    nik, born = samples[1]
    second = started(tmp_path, "chat", "--chat-id", "pipe", stdin=f"halo\n1\n{nik}\n{born}\n2\n")
    assert second.returncode == 0, second.stderr
    assert "try NIK" not in second.stdout  # the roster is loaded once
    assert "NIK ini terdaftar dalam program" in second.stdout and "1. Cek kepesertaan" in second.stdout
    assert nik not in second.stdout + second.stderr


def test_chat_state_persists_between_runs_of_the_same_chat_id(tmp_path):
    env = {"PAYUNG_NIK_KEY": "k" * 40}
    payung(tmp_path, "import-roster", str(write_csv(tmp_path / "roster.csv", [BUDI])), env=env)  # not the demo's 26,775
    payung(tmp_path, "chat", "--chat-id", "ani", stdin="halo\n6\n2\n", env=env)
    again = payung(tmp_path, "chat", "--chat-id", "ani", stdin="menu\n", env=env)
    assert "1. Check my cover" in again.stdout
    other = payung(tmp_path, "chat", "--chat-id", "budi", stdin="menu\n", env=env)
    assert "1. Cek kepesertaan" in other.stdout


def test_import_roster_and_stats(tmp_path):
    env = {"PAYUNG_NIK_KEY": "k" * 40}
    path = write_csv(tmp_path / "roster.csv", [BUDI, dict(BUDI, nik="1603010503800002", kategori="x")])
    result = payung(tmp_path, "import-roster", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert "2 rows: 1 new, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert "rejected: row 3: unknown kategori 'x'" in result.stdout
    stats = payung(tmp_path, "stats", env=env)
    assert re.search(r"perangkat_desa\s*│\s*1", stats.stdout) and re.search(r"Lubai\s*│\s*1", stats.stdout)


def test_errors_are_one_line_and_exit_non_zero(tmp_path):
    (tmp_path / "bad.csv").write_text("nik\n1\n", encoding="utf-8")
    result = payung(tmp_path, "import-roster", str(tmp_path / "bad.csv"), env={"PAYUNG_NIK_KEY": "k" * 40})
    assert result.returncode == 1 and "missing columns" in result.stderr and "Traceback" not in result.stderr
    short_key = payung(tmp_path, "stats", env={"PAYUNG_NIK_KEY": "short"})
    assert short_key.returncode == 1 and "at least 32 characters" in short_key.stderr
    bad_config = payung(tmp_path, "--config", str(tmp_path / "missing.yaml"), "stats")
    assert bad_config.returncode == 1 and "config file not found" in bad_config.stderr


def test_help_answers_without_loading_the_database_layer_or_the_conversations(tmp_path):
    probe = "import sys, bot.cli; print(sorted({'sqlalchemy', 'openpyxl', 'pydantic', 'handlers'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=bot_environment())
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr
    result = started(tmp_path, "--help")
    assert result.returncode == 0 and "import-roster" in result.stdout and "Traceback" not in result.stderr


def test_a_command_without_a_conversation_builds_the_app_without_loading_the_flows_or_other_databases(tmp_path):
    # Importing every flow (and the web stack, and PostgreSQL's dialect on SQLite) was about a
    # quarter of such a command's start.
    listed = payung(tmp_path, "officers", "list", env={"PAYUNG_NIK_KEY": "k" * 40})  # makes the database
    assert listed.returncode == 0 and "linked chats" in listed.stdout, listed.stderr
    probe = (
        "import sys; from pydantic import SecretStr; from bot.app import build_app; from bot.config import Settings; "
        f"build_app(Settings(data_dir={str(tmp_path)!r}, database_url='sqlite:///{tmp_path}/data/payung.db', "
        "nik_key=SecretStr('k' * 40))).close(); "
        "print(sorted({'handlers.flows', 'handlers.coverage', 'bot.dispatcher', 'bot.drainer', 'starlette', "
        "'sqlalchemy.dialects.postgresql', 'alembic'} & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=bot_environment())
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_the_running_bot_loads_whatsapps_library_and_excels_only_when_it_needs_them():
    # pywa is 29 MiB and openpyxl 13: a bot on Telegram alone that exports nothing needs neither.
    probe = "import sys, bot.service; print(sorted({'pywa', 'pywa_async', 'openpyxl'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=bot_environment())
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_demo_roster_writes_the_requested_size(tmp_path):
    result = payung(tmp_path, "demo-roster", "--rows", "50", "--out", str(tmp_path / "d.csv"), "--year", "2027")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "d.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 51 and ",2027-10-01,2027-12-31," in lines[1]


def test_run_refuses_to_start_without_a_usable_token_in_one_line(tmp_path):
    key = {"PAYUNG_NIK_KEY": "k" * 40}
    token = "123456:" + "A" * 35
    cases = [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "does not look like a bot token"),
        (
            {
                "TELEGRAM_BOT_TOKEN": token,
                "PAYUNG_TELEGRAM__MODE": "webhook",
                "PAYUNG_TELEGRAM__WEBHOOK_URL": "https://payung.example/telegram",
            },
            "needs TELEGRAM_WEBHOOK_SECRET",
        ),
        # nothing listens on port 9 of this machine: the API is unreachable
        (
            {"TELEGRAM_BOT_TOKEN": token, "PAYUNG_TELEGRAM__BASE_URL": "http://127.0.0.1:9/bot"},
            "cannot reach the Telegram Bot API at http://127.0.0.1:9/bot",
        ),
        (
            {"PAYUNG_TELEGRAM__ENABLED": "false", "PAYUNG_WHATSAPP__ENABLED": "true", "WHATSAPP_TOKEN": "t"},
            "whatsapp.enabled is true but WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN not set in the environment",
        ),
        ({"PAYUNG_TELEGRAM__ENABLED": "false", "PAYUNG_CONSOLE__ENABLED": "false"}, "nothing to run"),
    ]
    for env, message in cases:
        result = payung(tmp_path, "run", env={**key, **env})
        assert result.returncode == 1, (env, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert "Timed out" not in result.stderr, result.stderr  # a refused connection is told as one
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_reminders_can_be_rehearsed_from_the_command_line(tmp_path):
    env = {"PAYUNG_NIK_KEY": "k" * 40, "PAYUNG_TELEGRAM__ENABLED": "false"}
    path = write_csv(tmp_path / "roster.csv", [BUDI])
    payung(tmp_path, "import-roster", str(path), env=env)
    dry = payung(tmp_path, "reminders", "plan", "--dry-run", "--now", "2026-11-27T10:00", env=env)
    assert re.search(r"total\s*│\s*│\s*0", dry.stdout)  # nobody has consented yet
    consent = "halo\n1\n1603010503800001\n05-03-1980\n1\n"
    chat = payung(tmp_path, "chat", "--chat-id", "budi", "--now", "2026-11-27T10:00", stdin=consent, env=env)
    assert "kami akan mengingatkan Anda" in chat.stdout, chat.stdout
    # Consenting planned that chat's reminders at once: the daily plan finds nothing more.
    assert re.search(r"30 days before\s*│\s*planned\s*│\s*1", payung(tmp_path, "reminders", "status", env=env).stdout)
    dry = payung(tmp_path, "reminders", "plan", "--dry-run", "--now", "2026-11-27T10:00", env=env)
    assert re.search(r"total\s*│\s*│\s*0", dry.stdout)
    early = payung(tmp_path, "reminders", "send", "--now", "2026-12-01T08:59", env=env)
    assert "nothing due" in early.stdout
    sent = payung(tmp_path, "reminders", "send", "--now", "2026-12-01T09:00", env=env)
    assert "[budi]" in sent.stdout and "NIK 1603********0001 berakhir 31 Desember 2026, 30 hari lagi" in sent.stdout
    assert "1 sent" in sent.stdout
    assert "nothing due" in payung(tmp_path, "reminders", "send", "--now", "2026-12-01T10:00", env=env).stdout
    status = payung(tmp_path, "reminders", "status", env=env).stdout
    assert re.search(r"30 days before\s*│\s*sent\s*│\s*1", status) and "next due: 2026-12-17 09:00" in status
    bad = payung(tmp_path, "reminders", "send", "--now", "tomorrow", env=env)
    assert bad.returncode == 1 and "is not an ISO date and time" in bad.stderr
    # The regency renews Budi: the import says who will hear of it, and Budi's chat does, once.
    renewed = write_csv(tmp_path / "renewed.csv", [{**BUDI, "mulai": "2027-01-01", "berakhir": "2027-12-31"}])
    imported = payung(tmp_path, "import-roster", str(renewed), env=env).stdout
    assert "1 covers now end later (renewed): 1 consenting chats will be told" in imported
    assert re.search(r"renewal news\s*│\s*planned\s*│\s*1", payung(tmp_path, "reminders", "status", env=env).stdout)
    # The import ran now, so the news is due now: sent the next morning (never at night), once.
    morning = (datetime.now(ZoneInfo("Asia/Jakarta")) + timedelta(days=1)).date()
    told = payung(tmp_path, "reminders", "send", "--now", f"{morning}T10:00", env=env).stdout
    assert "[budi]" in told and "NIK 1603********0001 diperpanjang sampai 31 Desember 2027" in told
    again = payung(tmp_path, "reminders", "send", "--now", f"{morning}T11:00", env=env).stdout
    assert "diperpanjang" not in again


def test_operators_list_show_and_set_the_status_of_a_report(tmp_path):
    env = {"PAYUNG_NIK_KEY": "k" * 40}
    path = write_csv(tmp_path / "roster.csv", [BUDI])
    payung(tmp_path, "import-roster", str(path), env=env)
    report = (
        "halo\n2\n1\n1603010503800001\n05-03-1980\n1\nkemarin\nKebun\n"
        "Jatuh dari pohon saat memanen sawit.\nselesai\n081234567890\n1\n"
    )
    reported = payung(tmp_path, "chat", stdin=report, env=env)
    assert "Nomor laporan: LK-" in reported.stdout, reported.stdout
    reference = re.search(r"LK-\d{4}-\d{6}", reported.stdout).group()
    listed = payung(tmp_path, "incidents", "list", env=env)
    assert reference in listed.stdout and "work_accident" in listed.stdout and "diterima" in listed.stdout
    refused = payung(tmp_path, "incidents", "set-status", reference, "ditolak", env=env)
    assert refused.returncode == 1 and refused.stderr.strip() == "error: ditolak needs a reason (--note)"
    changed = payung(
        tmp_path, "incidents", "set-status", reference, "diverifikasi", "--note", "cocok", "--by", "ani", env=env
    )
    assert (
        changed.returncode == 0
        and f"{reference}: diverifikasi (recorded as cli:ani); the reporter will be told" in changed.stdout
    )
    shown = payung(tmp_path, "incidents", "show", reference, env=env)
    assert "1603********0001" in shown.stdout and "1603010503800001" not in shown.stdout
    assert "diverifikasi by cli:ani: cocok" in shown.stdout and "call back: +6281234567890" in shown.stdout
    assert (
        payung(tmp_path, "incidents", "show", "LK-2026-999999", env=env).stderr.strip()
        == "error: no report LK-2026-999999"
    )
    stats = payung(tmp_path, "stats", env=env)
    assert re.search(r"diverifikasi\s*│\s*1", stats.stdout) and re.search(
        r"Reports per district.*Lubai\s*│\s*1", stats.stdout, re.S
    )
    assert "1603010503800001" not in listed.stdout + shown.stdout + reported.stdout

    exported = payung(
        tmp_path, "export", "incidents", "--format", "csv", "--out", "laporan.csv", "--status", "diverifikasi", env=env
    )
    assert exported.returncode == 0 and "1 report(s) written to laporan.csv" in exported.stdout, exported.stderr
    header, row = list(csv.reader((tmp_path / "laporan.csv").read_text(encoding="utf-8-sig").splitlines()))
    record = dict(zip(header, row, strict=True))
    assert record["reference"] == reference and record["nik_masked"] == "1603********0001"
    assert (record["district"], record["covered_on_date"], record["kind"]) == ("Lubai", "ya", "work_accident")
    payung(
        tmp_path, "export", "incidents", "--out", "laporan.xlsx", "--from", "2000-01-01", "--to", "2000-12-31", env=env
    )
    sheet = openpyxl.load_workbook(tmp_path / "laporan.xlsx").active
    assert sheet.max_row == 1 and sheet.cell(1, 1).value == "reference"  # nothing filed in 2000: the header only
    bad = payung(tmp_path, "export", "incidents", "--out", "x.csv", "--from", "kemarin", env=env)
    assert bad.returncode == 1 and "--from 'kemarin' is not a date like 2026-11-27" in bad.stderr


def test_import_officers_list_and_unlink(tmp_path):
    env = {"PAYUNG_NIK_KEY": "k" * 40}
    path = tmp_path / "perangkat.csv"
    path.write_text(
        "nik,nama,tanggal_lahir,jabatan,desa,kecamatan,telepon\n"
        "1603016606900001,Rina Wati,1990-06-26,Sekretaris desa,Talang Demo,Lubai,0812-1111-2222\n"
        "1603016606900002,Tanpa Telepon,1990-06-26,Kaur,Talang Demo,Lubai,\n",
        encoding="utf-8",
    )
    imported = payung(tmp_path, "import-officers", str(path), env=env)
    assert "2 rows: 1 new, 0 updated, 1 rejected" in imported.stdout, imported.stderr
    assert "rejected: row 3: telepon must be a valid Indonesian number" in imported.stdout
    listed = payung(tmp_path, "officers", "list", env=env)
    assert "Rina" in listed.stdout and "1603********0001" in listed.stdout and "1603016606900001" not in listed.stdout
    linked = payung(
        tmp_path, "chat", stdin="halo\nperangkat\n1603016606900001\n26-06-1990\n0812 1111 2222\nmenu\n", env=env
    )
    assert (
        "Terhubung sebagai Sekretaris desa, Desa Talang Demo." in linked.stdout
        and "7. Lapor untuk warga" in linked.stdout
    )
    unlinked = payung(tmp_path, "officers", "unlink", "1", "--by", "ani", env=env)
    assert unlinked.returncode == 0 and "officer 1: 1 chat link(s) revoked" in unlinked.stdout
    again = payung(tmp_path, "officers", "unlink", "1", env=env)
    assert again.returncode == 1 and again.stderr.strip() == "error: officer 1 has no linked chat"
    assert "7. Lapor untuk warga" not in payung(tmp_path, "chat", stdin="menu\n", env=env).stdout


def test_a_report_survives_the_process_being_killed_between_any_two_steps(tmp_path):
    """The console chat is SIGKILLed after each message of a report and
    started again; the report goes on where it stopped and is filed once."""
    env = bot_environment(PAYUNG_NIK_KEY="k" * 40)
    path = write_csv(tmp_path / "roster.csv", [BUDI])
    payung(tmp_path, "import-roster", str(path), env={"PAYUNG_NIK_KEY": "k" * 40})
    steps = [
        "halo",
        "2",
        "1",
        "1603010503800001",
        "05-03-1980",
        "1",
        "kemarin",
        "Kebun sawit",
        "Jatuh dari pohon saat memanen sawit.",
        "selesai",
        "081234567890",
        "1",
    ]
    said = []
    for line in steps:
        chat = ForkedBot(tmp_path, ["chat"], env=env, stdin=None)
        chat.stdin.write(line + "\n")
        chat.stdin.flush()
        deadline = time.monotonic() + 60
        while "\n" not in chat.printed():  # the first line of the reply: the message was handled
            assert chat.returncode is None and time.monotonic() < deadline, chat.finish(1)
            time.sleep(0.01)
        said.append(chat.printed().partition("\n")[0])
        chat.send_signal(signal.SIGKILL)
        assert chat.finish(30).returncode == -signal.SIGKILL
    assert said[-1].startswith("Laporan terkirim. Nomor laporan: LK-2026-000001"), said
    listed = payung(tmp_path, "incidents", "list", env={"PAYUNG_NIK_KEY": "k" * 40})
    assert listed.stdout.count("LK-2026-") == 1


def test_console_accounts_are_made_listed_and_closed_from_the_command_line(tmp_path):
    env = {"PAYUNG_NIK_KEY": "k" * 40}
    made = payung(
        tmp_path,
        "operators",
        "add",
        "ani",
        "--role",
        "operator",
        "--district",
        "Lubai",
        "--password-stdin",
        stdin="kata-sandi-ani-1\n",
        env=env,
    )
    assert made.returncode == 0 and "account ani (operator, Lubai) made" in made.stdout, made.stderr
    for args, stdin, message in (
        (("add", "ani", "--role", "viewer", "--password-stdin"), "kata-sandi-ani-2\n", "already an account ani"),
        (("add", "budi", "--role", "boss", "--password-stdin"), "kata-sandi-budi\n", "the role is one of"),
        (("add", "budi", "--role", "viewer", "--password-stdin"), "pendek\n", "at least 10 characters"),
        (("add", "budi", "--role", "viewer", "--district", "Atlantis", "--password-stdin"), "x" * 12, "Atlantis"),
        (("passwd", "nobody", "--password-stdin"), "kata-sandi-baru-1\n", "no account nobody"),
    ):
        refused = payung(tmp_path, "operators", *args, stdin=stdin, env=env)
        assert refused.returncode == 1 and message in refused.stderr and "Traceback" not in refused.stderr
    assert (
        payung(
            tmp_path, "operators", "passwd", "ani", "--password-stdin", stdin="kata-sandi-baru-1\n", env=env
        ).returncode
        == 0
    )
    assert payung(tmp_path, "operators", "disable", "ani", env=env).returncode == 0
    listed = payung(tmp_path, "operators", "list", env=env).stdout
    assert re.search(r"ani\s*│\s*operator\s*│\s*Lubai\s*│\s*disabled", listed), listed
    assert "kata-sandi" not in listed


def test_an_office_with_no_chat_channel_runs_the_console_alone(tmp_path):
    env = bot_environment(PAYUNG_NIK_KEY="k" * 40, PAYUNG_TELEGRAM__ENABLED="false", PAYUNG_WEB__PORT=str(free_port()))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{env['PAYUNG_WEB__PORT']}/console/login", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()
                time.sleep(0.2)
        assert login.status_code == 200 and "Masuk ke konsol" in login.text
        assert "payung_console" in login.headers["set-cookie"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_renewal_decision_is_recorded_shown_and_heard_in_the_chat(tmp_path):
    env = {"PAYUNG_NIK_KEY": "k" * 40}
    shown = payung(tmp_path, "renewal", "show", env=env)
    assert "after 2026-12-31: unknown" in shown.stdout and "recorded by: config.yaml" in shown.stdout
    refused = payung(tmp_path, "renewal", "set", "planned", "--start", "2026-12-01", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: the new period starts after the current one ends (2026-12-31)"
    assert payung(tmp_path, "renewal", "set", "maybe", env=env).returncode == 1
    recorded = payung(
        tmp_path, "renewal", "set", "planned", "--start", "2027-01-01", "--note", "Menunggu APBD 2027.", env=env
    )
    assert recorded.returncode == 0, recorded.stderr
    shown = payung(tmp_path, "renewal", "show", env=env).stdout
    assert "after 2026-12-31: planned" in shown and "new period from: 2027-01-01" in shown
    assert "note: Menunggu APBD 2027." in shown and "recorded by: cli:" in shown
    # The help topic says it from now on.
    chat = payung(tmp_path, "chat", stdin="bantuan\nsetelah 31 desember\n", env=env).stdout
    assert "berencana memperpanjang perlindungan ini mulai 1 Januari 2027. Menunggu APBD 2027." in chat
    confirmed = payung(tmp_path, "renewal", "set", "confirmed", env=env)
    assert "0 village officers' chats will get the renewal digest" in confirmed.stdout
    assert "before: planned" in payung(tmp_path, "renewal", "show", env=env).stdout
