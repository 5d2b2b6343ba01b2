"""The engine, transactions and schema upgrades.

Query functions elsewhere in storage/ take a Session and never commit: the
caller decides what one transaction is (one inbound message, one import batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.util.concurrency import greenlet_spawn, in_greenlet
from sqlmodel import Session

from storage.errors import PlainError
from storage.idle_ping import ping_rested_connections
from storage.sqlite_checkpoints import NO_AUTOCHECKPOINT, Checkpoints

# 64 MiB of page cache a connection: the NIK-hash index of a million-row
# roster is about that size, and random-key inserts thrash the 2 MiB default.
SQLITE_PAGE_CACHE = "PRAGMA cache_size=-65536"

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
LOOP_CONNECTIONS = 8  # PostgreSQL connections for the event loop's own transactions
# A message's statement waits no longer on the loop (a link lost mid-statement;
# asyncpg has no TCP keepalive settings), so a chat is not held forever.
LOOP_STATEMENT_SECONDS = 60.0
# libpq's URL parameters that asyncpg neither reads nor may hand the server as
# settings: the TCP keepalives, which LOOP_STATEMENT_SECONDS stands in for.
LIBPQ_ONLY = ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout")

Built = TypeVar("Built")


def newest_revision() -> str:
    """The newest migration's revision: each file is named for its own
    (0015_....py has revision "0015"), which a test holds to."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def migration_config(connection: Connection) -> Config:
    """Alembic's configuration, run on `connection` (there is no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def driver_url(url: str) -> str:
    """Plain URLs (postgresql://, sqlite:///) get the drivers Payung ships with."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def asyncpg_arguments(url: str) -> dict[str, Any]:
    """asyncpg's connect() arguments for a PostgreSQL URL as libpq takes it.
    asyncpg reads the URL as a DSN (sslmode, passfile, target_session_attrs)
    and hands the server any other parameter as a setting (application_name,
    options); connect_timeout becomes its own timeout and the TCP keepalives
    are left out, as the server would refuse them."""
    parsed = make_url(url).set(drivername="postgresql")
    query = {name: value for name, value in parsed.query.items() if name not in LIBPQ_ONLY}
    arguments: dict[str, Any] = {"command_timeout": LOOP_STATEMENT_SECONDS}
    if "connect_timeout" in query:
        arguments["timeout"] = float(query.pop("connect_timeout"))
    arguments["dsn"] = parsed.set(query=query).render_as_string(hide_password=False)
    return arguments


class DatabaseUnavailable(PlainError):
    """The database URL names nothing Payung can open: one line for whoever starts it."""


def first_line(error: BaseException) -> str:
    """Why a connection failed, in one line: the driver's own message when
    SQLAlchemy wraps one."""
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def shown(url: str) -> str:
    """A URL fit for an error line: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


class Database:
    """SQLite, or PostgreSQL with two engines: psycopg for threads and
    commands, and asyncpg for the transactions the event loop runs itself
    (on_loop), each connection's round trips awaited on the loop rather than
    waited for in a worker thread."""

    def __init__(self, url: str, *, echo: bool = False):
        self.checkpoints: Checkpoints | None = None
        self.echo = echo
        self._on_loop: tuple[asyncio.AbstractEventLoop, AsyncEngine] | None = None
        try:
            self.url = driver_url(url)
            parsed = make_url(self.url)
            self.is_sqlite = parsed.get_backend_name() == "sqlite"
            # hide_parameters: a failed statement's values (a note, a name) stay out of the logs.
            if self.is_sqlite:
                in_file = bool(parsed.database) and parsed.database != ":memory:"
                if in_file:
                    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                self.engine = create_engine(self.url, echo=echo, hide_parameters=True)
                _make_sqlite_serialisable(self.engine)
                if in_file:  # an in-memory database has no log to copy back
                    self.checkpoints = Checkpoints(self.engine)
            else:
                self.engine = create_engine(self.url, echo=echo, hide_parameters=True)
                ping_rested_connections(self.engine)
        except (ArgumentError, NoSuchModuleError, ImportError, OSError) as error:
            raise DatabaseUnavailable(f"database URL {shown(url)} cannot be used: {error}") from None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back on error.
        Inside on_loop's work it runs on the loop's engine: its statements
        are awaited there, and a psycopg call would stop the loop."""
        engine = self._on_loop[1].sync_engine if self._on_loop is not None and in_greenlet() else self.engine
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
        if self.checkpoints is not None:
            self.checkpoints.committed()

    async def on_loop(self, work: Callable[..., Built], *args: Any) -> Built:
        """`work(*args)` on PostgreSQL as ordinary blocking code whose
        transactions await their statements on the running loop (SQLAlchemy's
        greenlet bridge to asyncpg). In a worker thread on psycopg, 16 chats
        at once cost the process 1.0-1.2 ms of CPU a message; here 0.6-0.7
        (docs/performance.md)."""
        self.loop_engine()
        return await greenlet_spawn(work, *args)

    def loop_engine(self) -> AsyncEngine:
        """The running loop's engine: an asyncpg connection belongs to the
        loop that opened it, so another loop (a test's, a command's) gets
        its own, and the last one's connections are dropped with it."""
        loop = asyncio.get_running_loop()
        if self._on_loop is None or self._on_loop[0] is not loop:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._drop_loop_engine()
            engine = create_async_engine(
                "postgresql+asyncpg://",
                connect_args=asyncpg_arguments(self.url),
                # A connection for each transaction the loop runs at once, up to
                # LOOP_CONNECTIONS; more would only queue for the server's cores,
                # and connections above a pool's size are closed when given back
                # and opened again at the next burst.
                pool_size=LOOP_CONNECTIONS,
                max_overflow=0,
                echo=self.echo,
                hide_parameters=True,
            )
            ping_rested_connections(engine.sync_engine)
            self._on_loop = (loop, engine)
        return self._on_loop[1]

    async def open_on_loop(self) -> None:
        """The loop's first connection, opened at start-up: a URL asyncpg
        cannot use stops the bot there in one line, not at the first message."""
        if self.is_sqlite:
            return
        try:
            async with self.loop_engine().connect():
                pass
        except (DBAPIError, OSError, ValueError) as error:
            raise DatabaseUnavailable(
                f"cannot open the database {shown(self.url)} on the event loop: {first_line(error)}"
            ) from None

    async def leave_loop(self) -> None:
        """Close the loop's connections while the loop still runs (at a stop)."""
        if self._on_loop is not None:
            await self._on_loop[1].dispose()
            self._on_loop = None

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        try:
            self.engine.connect().close()
        except OperationalError as error:
            raise DatabaseUnavailable(f"cannot open the database {shown(self.url)}: {first_line(error)}") from None
        if self.revision() == newest_revision():
            return  # the usual start: Alembic (about 11 MiB resident) is not even loaded
        from alembic import command
        from sqlmodel import SQLModel

        import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

        with self.engine.begin() as connection:
            config = migration_config(connection)
            if inspect(connection).get_table_names():
                command.upgrade(config, "head")
            else:
                # A new database gets the models' schema at once, marked as
                # the newest migration (Alembic's cookbook); the migrations
                # build the same schema (a test holds them to it).
                SQLModel.metadata.create_all(connection)
                command.stamp(config, "head")

    def revision(self) -> str | None:
        """The migration this database is at; None before the first."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def dispose(self) -> None:
        if self.checkpoints is not None:
            self.checkpoints.wait()
        self._drop_loop_engine()
        self.engine.dispose()

    def _drop_loop_engine(self) -> None:
        """Forget the loop's engine once its loop has ended (leave_loop was
        not awaited): its connections cannot be closed without that loop, so
        they are dropped and close with their sockets."""
        if self._on_loop is not None:
            self._on_loop[1].sync_engine.dispose(close=False)
            self._on_loop = None


def writes_inside_with(connection: Connection) -> bool:
    """Whether the database runs INSERT and UPDATE inside WITH, so one
    statement can do the work of two (a round trip less on PostgreSQL;
    SQLite allows only SELECT there)."""
    return connection.dialect.name == "postgresql"


def dialect_insert(name: str) -> Callable:
    """The insert() that understands ON CONFLICT on database `name`. Each
    dialect is imported when first asked for: a bot on SQLite never loads
    PostgreSQL's (about 30 ms of every command's start)."""
    return import_module(f"sqlalchemy.dialects.{name}").insert


def inserts_for(session: Session) -> Callable:
    """The insert() that understands ON CONFLICT on this session's database."""
    return dialect_insert(session.get_bind().dialect.name)


def insert_for(session: Session, table):
    """An INSERT that understands ON CONFLICT on this session's database."""
    return inserts_for(session)(table)


class PerDialect(dict[str, Built]):
    """A statement that needs ON CONFLICT (or a storage.prepared.Prepared
    one), built once for each database from that database's insert(), when
    first asked for; pick one with connection.dialect.name."""

    def __init__(self, build: Callable[[Callable], Built]):
        super().__init__()
        self._build = build

    def __missing__(self, name: str) -> Built:
        self[name] = self._build(dialect_insert(name))
        return self[name]


def _make_sqlite_serialisable(engine: Engine) -> None:
    """WAL lets readers run beside the writer; BEGIN IMMEDIATE takes the write
    lock up front, so two writers queue on busy_timeout instead of one failing
    with 'database is locked' when it tries to upgrade a read lock."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(SQLITE_PAGE_CACHE)
        cursor.execute(NO_AUTOCHECKPOINT)  # storage/sqlite_checkpoints.py does them
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
