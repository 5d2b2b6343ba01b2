"""The group commit the send path's bookkeeping goes through, on both databases."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from sqlalchemy import event, text

from bot.group_commit import GroupCommit
from storage.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'writes.db'}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS written"))
        connection.execute(text("CREATE TABLE written (n INTEGER PRIMARY KEY)"))
    yield database
    database.dispose()


def insert(session, *, n: int) -> int:
    session.connection().execute(text("INSERT INTO written (n) VALUES (:n)"), {"n": n})
    return n


def written(db: Database) -> list[int]:
    with db.engine.connect() as connection:
        return [n for (n,) in connection.execute(text("SELECT n FROM written ORDER BY n"))]


async def test_writes_made_at_once_share_few_transactions_and_each_writer_gets_its_result(db):
    commits = []
    event.listen(db.engine, "commit", lambda _connection: commits.append(1))
    writes = GroupCommit(db)
    results = await asyncio.gather(*(writes.write(partial(insert, n=n)) for n in range(200)))
    assert results == list(range(200))
    assert written(db) == list(range(200))
    assert len(commits) < 20  # one transaction each would be 200


async def test_a_failing_write_fails_only_its_writer(db):
    writes = GroupCommit(db)
    await writes.write(partial(insert, n=7))
    outcomes = await asyncio.gather(
        *(writes.write(partial(insert, n=n)) for n in (5, 6, 7, 8)),  # 7 is there already
        return_exceptions=True,
    )
    assert outcomes[:2] == [5, 6] and outcomes[3] == 8
    assert isinstance(outcomes[2], Exception)
    assert written(db) == [5, 6, 7, 8]
    await writes.settled()


async def test_items_written_at_once_go_to_their_writer_together(db):
    calls = []

    def insert_many(session, items: list[int]) -> None:
        calls.append(len(items))
        session.connection().execute(text("INSERT INTO written (n) VALUES (:n)"), [{"n": n} for n in items])

    writes = GroupCommit(db)
    await asyncio.gather(*(writes.write_each(insert_many, n) for n in range(100)))
    assert written(db) == list(range(100))
    assert sum(calls) == 100 and len(calls) < 5  # not one statement each
