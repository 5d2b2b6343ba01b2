"""Console page times with the programme's size: 26,775 participants and
5,000 reports, over real HTTP on 127.0.0.1, each page signed in as an
administrator (the whole regency) and as an operator of one kecamatan.

    .venv/bin/python bench/bench_console.py                 # SQLite
    .venv/bin/python bench/bench_console.py --postgres URL  # and PostgreSQL

The anchor is /healthz (one SELECT 1 through the same server and client):
what any page costs before it does its own work. Goal: every page under
200 ms (README, Performance).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.console.routes import console_site  # noqa: E402
from bot.demo_roster import demo_people  # noqa: E402
from bot.ops.accounts import add_account  # noqa: E402
from bot.ops.authority import Actor  # noqa: E402
from bot.ops.roster import import_roster, open_roster, write_roster_csv  # noqa: E402
from bot.web import build_web  # noqa: E402
from storage import incidents  # noqa: E402
from storage.chats import open_chat  # noqa: E402
from storage.db import driver_url  # noqa: E402
from storage.tables import PARTICIPANTS  # noqa: E402
from tests.console_world import CSRF  # noqa: E402
from tests.processes import bench_started  # noqa: E402
from tests.servers import served_in_thread  # noqa: E402

KEY = SecretStr("bench-key-" + "b" * 32)
PEOPLE, REPORTS = 26_775, 5_000
PASSWORD = "bench-password-1"
NOW = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
ADMIN = Actor("bench", "admin")


def reset(url: str) -> None:
    if url.startswith("postgres"):
        engine = create_engine(driver_url(url))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()


def filled(folder: Path, url: str):
    """An app with the programme's roster, 5,000 reports and two accounts."""
    reset(url)
    settings = Settings(data_dir=folder, database_url=url, nik_key=KEY)
    app = build_app(settings, clock=lambda: NOW)
    roster = folder / "roster.csv"
    people = demo_people(year=2026, districts=settings.programme.districts, regency_code="1603", rows=PEOPLE)
    with roster.open("w", encoding="utf-8", newline="") as file:
        write_roster_csv(file, people)
    import_roster(open_roster(roster), actor=ADMIN, db=app.db, hasher=app.services.hasher, now=NOW, batch_size=5000)
    pick = random.Random(7)
    with app.db.transaction() as session:
        ids = session.connection().execute(select(PARTICIPANTS.c.id)).scalars().all()
        chat, _ = open_chat(session, channel="telegram", chat_id="bench", language="id", now=NOW)
        for number in range(REPORTS):
            filed = NOW - timedelta(hours=pick.randrange(24 * 60))
            fields = {
                "affected": "other",
                "relation": "spouse",
                "participant_id": pick.choice(ids),
                "nik_hash": f"{number:064x}",
                "nik_masked": "1603********0001",
                "name": f"Warga {number}",
                "kind": pick.choice(incidents.KINDS),
                "occurred_on": date(2026, 11, 1) + timedelta(days=pick.randrange(30)),
                "covered": True,
                "place": "Kebun",
                "latitude": None,
                "longitude": None,
                "chronology": "Jatuh saat memanen.",
                "phone": "+6281234567890",
            }
            incidents.file_incident(session, reporter=chat, fields=fields, files=[], now=filed, year=2026)
        for name, districts in (("admin", []), ("camat", ["Lubai"])):
            add_account(
                session,
                actor=ADMIN,
                name=name,
                password=PASSWORD,
                role="admin" if not districts else "operator",
                districts=districts,
                known_districts=settings.programme.districts,
                now=NOW,
            )
    return app


def signed_in(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    token = CSRF.search(client.get("/console/login").text)[1]
    answer = client.post("/console/login", data={"csrf": token, "name": name, "password": PASSWORD})
    assert answer.status_code == 200 and "Dasbor" in answer.text, answer.status_code
    return client


def timed(client: httpx.Client, method: str, path: str, expect: str, runs: int, **data) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = client.request(method, path, data=data or None)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200 and expect in answer.text, (path, answer.status_code)
    return times


def measure(label: str, url: str, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        app = filled(Path(folder), url)
        print(f"\n{label}: {PEOPLE:,} participants and {REPORTS:,} reports in {time.perf_counter() - started:.0f} s")
        web = build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])
        with served_in_thread(web) as base:
            clients = {"admin": signed_in(base, "admin"), "camat": signed_in(base, "camat")}
            token = CSRF.search(clients["admin"].get("/console/dashboard").text)[1]
            anchor = statistics.median(timed(clients["admin"], "GET", "/healthz", "ok", runs))
            pages = [
                ("dashboard", "GET", "/console/dashboard", "Dasbor", {}),
                ("report queue, page 1", "GET", "/console/reports", "laporan", {}),
                ("queue filtered", "GET", "/console/reports?status=diterima&kind=death", "laporan", {}),
                ("queue, page 50", "GET", "/console/reports?page=50", "laporan", {}),
                ("a report", "GET", "/console/reports/LK-2026-002500", "LK-2026-002500", {}),
                ("name search", "POST", "/console/participants", "Masa perlindungan", {"q": "siti", "csrf": token}),
            ]
            print(f"{'page':<24}{'account':<10}{'p50 ms':>9}{'p95 ms':>9}{'anchor ms':>11}")
            for name, method, path, expect, data in pages:
                for who, client in clients.items():
                    if who == "camat" and name in ("a report", "name search"):
                        continue  # the report may be outside Lubai; the search needs the admin's token
                    times = sorted(timed(client, method, path, expect, runs, **data))
                    p95 = times[int(len(times) * 0.95) - 1]
                    print(f"{name:<24}{who:<10}{statistics.median(times):>9.1f}{p95:>9.1f}{anchor:>11.1f}")
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", help="also on this PostgreSQL URL (its schema is wiped)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    options = parser.parse_args()
    bench_started(options.timeout)
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", f"sqlite:///{folder}/bench.db", options.runs)
    if options.postgres:
        measure("PostgreSQL", options.postgres, options.runs)


if __name__ == "__main__":
    main()
