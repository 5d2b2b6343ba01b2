"""Core benchmarks: dispatcher throughput, roster import, coverage lookups.

    .venv/bin/python bench/bench_core.py                 # SQLite, demo + 1M rows
    .venv/bin/python bench/bench_core.py --postgres URL  # PostgreSQL too
    .venv/bin/python bench/bench_core.py --big-rows 100000   # a quicker run

Prints its figures beside the bare anchors measured in the same run, and
checks what comes back (every check's answer says the person is covered);
the targets are in the README's performance table.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from sqlalchemy import create_engine, event, make_url, text  # noqa: E402

from bot.app import build_app, utc_now  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.demo_roster import DEMO_SIZE, demo_people  # noqa: E402
from bot.ops.authority import Actor  # noqa: E402
from bot.ops.roster import import_roster, open_roster, write_roster_csv  # noqa: E402
from handlers.messages import Inbound  # noqa: E402
from storage.db import driver_url  # noqa: E402
from storage.participants import find_participant  # noqa: E402
from storage.tables import PARTICIPANTS  # noqa: E402
from tests.processes import bench_started, bot_environment  # noqa: E402

KEY = SecretStr("bench-key-" + "b" * 32)


def settings(data_dir: Path, url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=url, nik_key=KEY)


def database_in(data: Path, url: str) -> str:
    """The database a run uses: PostgreSQL's as given, or a new SQLite file in `data`."""
    return url if url.startswith("postgres") else f"sqlite:///{data / 'bench.db'}"


def reset(url: str) -> None:
    if url.startswith("postgres"):
        engine = create_engine(driver_url(url))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()


def write_roster(path: Path, rows: int) -> None:
    people = demo_people(year=utc_now().year, districts=Settings().programme.districts, regency_code="1603", rows=rows)
    with path.open("w", encoding="utf-8", newline="") as file:
        write_roster_csv(file, people)


def sample_people(path: Path, count: int = 50_000) -> list[dict]:
    """People of the roster as written, to look up and to chat as."""
    with path.open(encoding="utf-8", newline="") as file:
        return list(islice(csv.DictReader(file), count))


# Runs `python -m bot ARGS...` and, at its exit, prints the process's peak
# resident memory (VmHWM, kB). Its own: getrusage and wait4 would count the
# memory of this bigger process it was forked from.
WITH_PEAK = """
import atexit, runpy, sys
atexit.register(lambda: print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0], file=sys.stderr))
sys.argv = ["bot", *sys.argv[1:]]
runpy.run_module("bot", run_name="__main__")
"""


def import_memory(path: Path, url: str, work: Path) -> int:
    """Peak resident memory in MiB of `python -m bot import-roster` as an
    operator runs it, into an empty database (the command's process; each
    worker holds a chunk at a time)."""
    reset(url)
    data = Path(tempfile.mkdtemp(dir=work))
    environment = bot_environment(
        PAYUNG_DATA_DIR=str(data),
        PAYUNG_DATABASE_URL=database_in(data, url),
        PAYUNG_NIK_KEY=KEY.get_secret_value(),
    )
    command = [sys.executable, "-c", WITH_PEAK, "import-roster", str(path)]
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return int(done.stderr.split()[-1]) // 1024


@dataclass
class ImportFigures:
    seconds: float
    # CPU seconds: the worker processes validating rows, and the process that
    # reads the file and writes (the database server's own is not counted)
    validating: float
    reading_writing: float


def timed_import(app, path: Path) -> ImportFigures:
    workers_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = time.process_time()
    started = time.perf_counter()
    report = import_roster(
        open_roster(path),
        actor=Actor("bench", "admin"),
        db=app.db,
        hasher=app.services.hasher,
        now=app.clock(),
        batch_size=app.settings.roster.batch_size,
        workers=app.settings.roster.worker_count,
    )
    seconds = time.perf_counter() - started
    assert report.rejected == [], report.rejected[:3]
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's processes have ended and been waited for
    validating = workers.ru_utime - workers_before.ru_utime + workers.ru_stime - workers_before.ru_stime
    return ImportFigures(seconds, validating, time.process_time() - cpu_before)


def file_alone(path: Path) -> float:
    """An anchor beside the import: the file read by the csv module alone."""
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as file:
        rows = sum(1 for _ in csv.reader(file)) - 1
    assert rows > 0
    return time.perf_counter() - started


def database_alone(app, rows: int) -> float:
    """An anchor beside the import: the imported rows loaded and indexed by
    the database alone (INSERT ... SELECT into an empty copy of the table,
    then the same indexes), with no file, no validation, no Python a row."""
    with app.db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE anchor AS SELECT * FROM participants WHERE 1 = 0")
    started = time.perf_counter()
    with app.db.engine.begin() as connection:
        copied = connection.exec_driver_sql("INSERT INTO anchor SELECT * FROM participants").rowcount
        for number, index in enumerate(PARTICIPANTS.indexes):
            columns = ", ".join(column.name for column in index.columns)
            unique = "UNIQUE " if index.unique else ""
            connection.exec_driver_sql(f"CREATE {unique}INDEX anchor_{number} ON anchor ({columns})")
    seconds = time.perf_counter() - started
    with app.db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE anchor")
    assert copied == rows, (copied, rows)
    return seconds


def lookup_latencies(app, people: list[dict], samples: int = 3000) -> tuple[float, float]:
    """The anchor: the database part of a coverage check alone (find by NIK
    hash, prove the birth date), beside the same check through the dispatcher."""
    hasher = app.services.hasher
    chosen = random.Random(7).sample(people, min(samples, len(people)))
    times = []
    for person in chosen:
        started = time.perf_counter()
        nik_hash = hasher.nik_hash(person["nik"])
        with app.db.transaction() as session:
            found = find_participant(session, nik_hash=nik_hash)
        born = date.fromisoformat(person["tanggal_lahir"])
        assert found is not None and hasher.same(found.birth_hash, hasher.birth_hash(nik_hash, born))
        times.append(time.perf_counter() - started)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


@dataclass
class DispatcherFigures:
    rate: float  # messages a second
    check_p50: float  # ms, the check itself: the birth date, the message that looks the person up
    check_p99: float
    statements: float  # a message, BEGIN and COMMIT included: each a round trip on PostgreSQL
    cpu: float  # ms of this process's CPU a message, every thread's


def dispatcher_run(app, people: list[dict], chats: int, tag: str = "bench", at_once: int = 1) -> DispatcherFigures:
    """A whole coverage check (5 messages) per chat, end to end through the
    dispatcher, `at_once` chats at a time (each chat's messages one after
    another, as a person types). Every answer must say the person is
    covered. `tag` names the chats, so another run on the same database
    sends new messages rather than redeliveries."""
    checks: list[float] = []
    statements = itertools.count()  # next() is atomic: PostgreSQL's transactions run in threads

    def counted(*_args) -> None:
        next(statements)

    async def check(number: int) -> None:
        person = people[number % len(people)]
        born = date.fromisoformat(person["tanggal_lahir"]).strftime("%d-%m-%Y")
        said_back: list[str] = []

        async def keep(message, _held, _who) -> None:
            said_back.append(message.text)

        for step, said in enumerate(("halo", "1", person["nik"], born, "2")):
            inbound = Inbound(
                channel="console", chat_id=f"{tag}-{number}", message_id=f"{tag}-{number}-{step}", text=said
            )
            said_back.clear()
            started = time.perf_counter()
            await app.dispatcher.handle(inbound, keep)
            if step == 3:
                checks.append(time.perf_counter() - started)
                assert said_back and "Status: AKTIF" in said_back[0], said_back

    listened = [("before_cursor_execute", counted), ("commit", counted)]
    if not app.db.is_sqlite:
        listened.append(("begin", counted))  # the driver sends BEGIN on its own; SQLite's is a statement already

    async def run() -> tuple[float, float]:
        """(messages a second, ms of this process's CPU a message)"""
        if app.db.is_sqlite:
            engine = app.db.engine
        else:  # the dispatcher's engine is the loop's, whose connections a running bot keeps open
            on_loop = app.db.loop_engine()
            engine = on_loop.sync_engine
            await asyncio.gather(*(opened(on_loop) for _ in range(min(at_once, engine.pool.size()))))
        for name, listener in listened:
            event.listen(engine, name, listener)
        numbers = iter(range(chats))

        async def people_one_after_another() -> None:
            for number in numbers:
                await check(number)

        try:
            started, cpu_before = time.perf_counter(), time.process_time()
            await asyncio.gather(*(people_one_after_another() for _ in range(at_once)))
            rate = chats * 5 / (time.perf_counter() - started)
            return rate, (time.process_time() - cpu_before) * 1000 / (chats * 5)
        finally:
            for name, listener in listened:
                event.remove(engine, name, listener)
            await app.db.leave_loop()

    rate, cpu = asyncio.run(run())
    assert len(checks) == chats, (len(checks), chats)
    cuts = statistics.quantiles(checks, n=100)
    return DispatcherFigures(rate, cuts[49] * 1000, cuts[98] * 1000, next(statements) / (chats * 5), cpu)


async def opened(engine) -> None:
    """A connection opened and given back to the pool: several at once fill it."""
    async with engine.connect():
        await asyncio.sleep(0)


RUNS = 3  # the issue's goals are medians of three
AT_ONCE = 16  # people typing at the same moment in the busy runs


def described(runs: list[DispatcherFigures], figure: str, spec: str) -> str:
    """The median of a figure over the runs, and their range: "1,536 (1,501-1,560)"."""
    values = sorted(getattr(run, figure) for run in runs)
    return f"{statistics.median(values):{spec}} ({values[0]:{spec}}-{values[-1]:{spec}})"


def one_core(runs: list[DispatcherFigures]) -> str:
    """The process's CPU a message, and the rate one core gives at that cost:
    the engine's Python holds one lock (the GIL), whatever its threads."""
    cpu = statistics.median(run.cpu for run in runs)
    return f"this process's CPU {cpu:.2f} ms a message, every thread's (one core's worth: {1000 / cpu:,.0f} a second)"


def without_commit_flush(url: str) -> str:
    """The same PostgreSQL database, its sessions not waiting at a commit
    for the write-ahead log to reach the disk (an anchor only: Payung
    always waits, so nothing it has answered can be lost)."""
    return make_url(url).update_query_dict({"options": "-c synchronous_commit=off"}).render_as_string(False)


def bench_database(name: str, url: str, work: Path, big_rows: int, chats: int) -> None:
    print(f"\n== {name} ==")
    for rows, path in ((DEMO_SIZE, work / "demo.csv"), (big_rows, work / f"roster-{big_rows}.csv")):
        if not path.exists():
            write_roster(path, rows)
        memory = import_memory(path, url, work)
        reset(url)
        data = Path(tempfile.mkdtemp(dir=work))
        app = build_app(settings(data, database_in(data, url)))
        imported = timed_import(app, path)
        seconds = imported.seconds
        reading, writing = file_alone(path), database_alone(app, rows)
        people = sample_people(path)
        p50, p99 = lookup_latencies(app, people)
        rate = f"{rows / seconds:,.0f} rows/s"
        print(
            f"import {rows:>9,} rows: {seconds:7.1f} s ({rate}); anchors: the file read alone {reading:.1f} s, "
            f"the rows loaded and indexed by the database alone {writing:.1f} s"
        )
        cpu, cores = imported.validating + imported.reading_writing, os.cpu_count() or 1
        print(
            f"  CPU: validation in the worker processes {imported.validating:.1f} s, the process reading the file "
            f"and writing {imported.reading_writing:.1f} s; spread over {cores} cores at best {cpu / cores:.1f} s, "
            f"a database server's own work not counted"
        )
        print(f"  peak resident memory of `python -m bot import-roster` on the same file: {memory} MiB")
        print(f"  bare lookup (anchor) p50 {p50:.2f} ms  p99 {p99:.2f} ms")
        runs = [dispatcher_run(app, people, chats, tag=f"run{number}") for number in range(RUNS)]
        print(
            f"  dispatcher, one chat at a time, median of {RUNS} runs (each {chats} chats x 5-message coverage "
            f"check, console channel): {described(runs, 'rate', ',.0f')} messages/s; the check end to end "
            f"p50 {described(runs, 'check_p50', '.2f')} ms  p99 {described(runs, 'check_p99', '.2f')} ms; "
            f"{runs[0].statements:.1f} statements a message, BEGIN and COMMIT included; {one_core(runs)}"
        )
        runs = [dispatcher_run(app, people, chats, f"busy{number}", AT_ONCE) for number in range(RUNS)]
        print(
            f"  dispatcher, {AT_ONCE} chats at once, median of {RUNS} runs: {described(runs, 'rate', ',.0f')} "
            f"messages/s; the check end to end, waiting for the others included, "
            f"p50 {described(runs, 'check_p50', '.1f')} ms  p99 {described(runs, 'check_p99', '.1f')} ms; "
            f"{one_core(runs)}"
        )
        app.close()
        if url.startswith("postgres"):
            unflushed = build_app(settings(data, without_commit_flush(url)))
            for at_once, named in ((1, "one chat at a time"), (AT_ONCE, f"{AT_ONCE} chats at once")):
                tags = [f"unflushed{at_once}-{number}" for number in range(RUNS)]
                runs = [dispatcher_run(unflushed, people, chats, tag, at_once) for tag in tags]
                print(
                    f"  anchor, the same {named} with PostgreSQL not waiting at each commit for its log to reach "
                    f"the disk: {described(runs, 'rate', ',.0f')} messages/s; the check "
                    f"p50 {described(runs, 'check_p50', '.2f')} ms  p99 {described(runs, 'check_p99', '.2f')} ms"
                )
            unflushed.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL URL (it is wiped)")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    options = parser.parse_args()
    bench_started(options.timeout)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench_database("SQLite", "sqlite", work, options.big_rows, options.chats)
        if options.postgres:
            bench_database("PostgreSQL", options.postgres, work, options.big_rows, options.chats)


if __name__ == "__main__":
    main()
