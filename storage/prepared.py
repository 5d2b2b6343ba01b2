"""Statements every message runs, compiled once and run on the driver's cursor.

SQLAlchemy's execution path (the compiled-cache lookup, the execution
context, the result's metadata) costs several times what SQLite itself
spends on a short statement: the chat's UPDATE took 25 µs through Core
against 5 µs on the bare driver, and takes 9.5 µs here. Five statements run
for every message (the dedupe key, the chat, its state, the state saved, the
replies held: the last two one statement on PostgreSQL), and four more for
every identity check (the person with the chat's proven ownership, the
lockouts' counts, the attempt), so they skip it: each is compiled
once for each database, and its values go through the type conversions
SQLAlchemy would apply (`TypeEngine.bind_processor` and `result_processor`),
so the database holds and returns exactly what the ORM and Core see (a test
compares them on both databases). Cursor events are still fired when
something listens (with no execution context), and driver errors are
SQLAlchemy's errors, as elsewhere; `echo` does not log these statements.

Only statements whose every value is given by the caller or is a constant
qualify: no column defaults computed in Python, no IN lists expanded at
execution.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.dml import Insert


class _Form:
    """A statement as compiled for one database and one set of parameter names."""

    def __init__(self, statement: Executable, dialect: Dialect, keys: tuple[str, ...] | None):
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        defaulted = [*compiled.insert_prefetch, *compiled.update_prefetch]
        if compiled.post_compile_params or any(not column.default.is_scalar for column in defaulted):
            raise ValueError(f"not for a prepared statement (computed defaults or expanding values): {statement}")
        if compiled.escaped_bind_names:
            raise ValueError(f"not for a prepared statement (parameter names to escape): {statement}")
        self.sql = compiled.string
        # The statement's own values (active=True) and its columns' constant
        # defaults (attempts=0), to go with the caller's.
        self.fixed = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        self.fixed.update((column.key, column.default.arg) for column in defaulted)
        processors = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self.order = compiled.positiontup  # None for named parameters (psycopg's %(name)s)
        self.names = list(self.order or compiled.binds)
        self.to_driver = [(name, processors.get(name)) for name in self.names]
        columns = list(statement.exported_columns)
        self.from_driver: list[Callable | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        # rename: a column without a usable name (count(*)) is named by its place (_0)
        self.row = namedtuple("Row", [str(column.key) for column in columns], rename=True) if columns else None

    def parameters(self, given: Mapping[str, Any]) -> list | dict:
        values = []
        for name, processor in self.to_driver:
            value = given[name] if name in given else self.fixed[name]  # as in Core, the caller's first
            values.append(processor(value) if processor else value)
        return values if self.order is not None else dict(zip(self.names, values, strict=True))

    def rows(self, raw: list[tuple]) -> list[NamedTuple]:
        processors = self.from_driver
        return [self.row(*[p(v) if p else v for p, v in zip(processors, row, strict=True)]) for row in raw]


CURSOR = "payung.prepared.cursor"  # its key in the driver connection's `info`


def _cursor(connection: Connection) -> Any:
    """The driver connection's cursor for prepared statements, one for the
    connection's life: psycopg sets up each new cursor's adapters afresh,
    10 of a short statement's 50 µs. SQLAlchemy empties `info` when it
    replaces a connection it found broken, so a new one gets a new cursor."""
    pooled = connection.connection
    cursor = pooled.info.get(CURSOR)
    if cursor is None:
        cursor = pooled.info[CURSOR] = pooled.cursor()
    return cursor


class Prepared:
    """A Core statement run as its compiled SQL on the connection's driver
    cursor, in the connection's transaction. Its rows are named tuples."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._forms: dict[tuple[str, str, tuple[str, ...] | None], _Form] = {}

    def rows(self, connection: Connection, parameters: Mapping[str, Any]) -> list[NamedTuple]:
        dialect = connection.dialect
        # An INSERT's columns are the ones given, as in Core's execute().
        keys = tuple(parameters) if isinstance(self.statement, Insert) else None
        key = (dialect.name, dialect.driver, keys)  # the driver too: its parameters and conversions are its own
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _Form(self.statement, dialect, keys)
        values = form.parameters(parameters)
        events = connection.dispatch
        listened = bool(events.before_cursor_execute or events.after_cursor_execute)
        cursor = _cursor(connection)
        if listened:
            events.before_cursor_execute(connection, cursor, form.sql, values, None, False)
        try:
            cursor.execute(form.sql, values)
            raw = cursor.fetchall() if form.row is not None else []
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                form.sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
            ) from error
        if listened:
            events.after_cursor_execute(connection, cursor, form.sql, values, None, False)
        return form.rows(raw)

    def first(self, connection: Connection, parameters: Mapping[str, Any]) -> NamedTuple | None:
        found = self.rows(connection, parameters)
        return found[0] if found else None
