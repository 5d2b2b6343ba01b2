"""The engine, transactions and schema upgrades.

Query functions elsewhere in storage/ take a Session and never commit: the
caller decides what one transaction is (one inbound message, one import batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session

from storage.errors import PlainError
from storage.idle_ping import ping_rested_connections
from storage.sqlite_checkpoints import NO_AUTOCHECKPOINT, Checkpoints

# 64 MiB of page cache a connection: the NIK-hash index of a million-row
# roster is about that size, and random-key inserts thrash the 2 MiB default.
SQLITE_PAGE_CACHE = "PRAGMA cache_size=-65536"

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

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


class DatabaseUnavailable(PlainError):
    """The database URL names nothing Payung can open: one line for whoever starts it."""


def shown(url: str) -> str:
    """A URL fit for an error line: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


class Database:
    def __init__(self, url: str, *, echo: bool = False):
        self.checkpoints: Checkpoints | None = None
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
        """One unit of work: commits when the block ends, rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session
        if self.checkpoints is not None:
            self.checkpoints.committed()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        try:
            self.engine.connect().close()
        except OperationalError as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            raise DatabaseUnavailable(f"cannot open the database {shown(self.url)}: {reason}") from None
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
        self.engine.dispose()


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
