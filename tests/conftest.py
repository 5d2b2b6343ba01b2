"""Shared fixtures: a frozen clock, databases (SQLite always, PostgreSQL when
TEST_DATABASE_URL names one), a small known roster and a built app."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, make_url, text

from bot.app import App, build_app
from bot.config import Settings
from bot.ops.authority import Actor
from bot.ops.roster import import_roster, open_roster, write_roster_csv
from storage.db import driver_url
from tests.graph_standin import GraphApiStandIn
from tests.telegram_standin import BotApiStandIn

# Friday 27 November 2026, 10:00 in Muara Enim (WIB = UTC+7).
FROZEN_NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
TEST_KEY = SecretStr("test-key-" + "x" * 32)
ADMIN = Actor("test", "admin")  # the server's administrator, as the CLI acts


class FrozenClock:
    def __init__(self, now: datetime = FROZEN_NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def person(**fields: str) -> dict[str, str]:
    """A roster row; by default Budi, an active perangkat desa."""
    row = {
        "nik": "1603010503800001",
        "nama": "Budi Santoso",
        "tanggal_lahir": "1980-03-05",
        "jenis_kelamin": "L",
        "desa": "Talang Demo",
        "kecamatan": "Lubai",
        "kategori": "perangkat_desa",
        "no_kpj": "12345678901",
        "telepon": "0812-3456-7890",
        "mulai": "2026-10-01",
        "berakhir": "2026-12-31",
    }
    row.update(fields)
    return row


BUDI = person()
SITI = person(
    nik="1603024512850002",
    nama="Siti Aminah",
    tanggal_lahir="05/12/1985",
    jenis_kelamin="P",
    kategori="guru_ngaji",
    desa="Karang Demo",
    kecamatan="Gelumbang",
    no_kpj="",
    telepon="",
)
ENDED = person(
    nik="1603010101700003", nama="Lama Selesai", tanggal_lahir="1970-01-01", mulai="2026-01-01", berakhir="2026-03-31"
)
FUTURE = person(
    nik="1603010202900004", nama="Baru Nanti", tanggal_lahir="1990-02-02", mulai="2027-01-01", berakhir="2027-03-31"
)
LAST_DAY = person(nik="1603010303910005", nama="Akhir Hari", tanggal_lahir="1991-03-03", berakhir="2026-11-27")
ROSTER = [BUDI, SITI, ENDED, FUTURE, LAST_DAY]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    write_roster_csv(buffer, rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: two workers a core, since much of the suite's time is spent
    waiting on the bots, stand-ins and browsers it starts, not computing (on
    the 2-core machine, alternating: 3 workers 147-154 s, 4 workers 139-143 s)."""
    return 2 * (os.cpu_count() or 1)


def reset_postgres(url: str) -> None:
    engine = create_engine(driver_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def wiped_postgres() -> str:
    """TEST_DATABASE_URL (this worker's own, see worker_database) with an
    empty schema, or the test is skipped."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = worker_database(url)
    reset_postgres(url)
    return url


def worker_database(url: str) -> str:
    """Under pytest-xdist each worker wipes a database of its own (test_gw0,
    test_gw1 ...), made on first use beside TEST_DATABASE_URL's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    engine = create_engine(driver_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}" if request.param == "sqlite" else wiped_postgres()


@pytest.fixture
def postgres_url() -> str:
    """For tests that only mean something on PostgreSQL (row locks across processes)."""
    return wiped_postgres()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def make_settings(tmp_path: Path, database_url: str, **overrides) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, nik_key=TEST_KEY, **overrides)


def build(tmp_path: Path, database_url: str, clock: FrozenClock, roster=ROSTER, **overrides) -> App:
    app = build_app(make_settings(tmp_path, database_url, **overrides), clock=clock)
    if roster:
        import_roster(
            open_roster(write_csv(tmp_path / "roster.csv", roster)),
            actor=ADMIN,
            db=app.db,
            hasher=app.services.hasher,
            now=clock(),
            batch_size=100,
        )
    return app


@pytest.fixture
def app(tmp_path, sqlite_url, clock):
    app = build(tmp_path, sqlite_url, clock)
    yield app
    app.close()


@pytest.fixture
def any_db_app(tmp_path, database_url, clock):
    """The same app on SQLite and on PostgreSQL."""
    app = build(tmp_path, database_url, clock)
    yield app
    app.close()


@pytest.fixture
async def graph():
    """The Graph API stand-in on 127.0.0.1, for the real pywa client."""
    async with GraphApiStandIn() as standin:
        yield standin


@pytest.fixture
async def stand_ins():
    """The Bot API and Graph API stand-ins, both listening on 127.0.0.1."""
    async with BotApiStandIn() as telegram, GraphApiStandIn() as graph:
        yield telegram, graph
