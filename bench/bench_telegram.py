"""Telegram webhook benchmark: `python -m bot run` in webhook mode as its own
process, real HTTP both ways, the stand-in Bot API from the tests.

    .venv/bin/python bench/bench_telegram.py                 # SQLite
    .venv/bin/python bench/bench_telegram.py --postgres URL  # PostgreSQL too (it is wiped)

Each simulated person runs a whole coverage check by typing (halo, 1, NIK,
birth date, 2: five updates, seven replies); many people at once. Pacing is
lifted for the run so the figures measure Payung, not Telegram's limits.
Prints updates/s acknowledged by the webhook, updates/s until the last reply
reached the stand-in, and the bot process's resident memory afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_core import KEY, reset, sample_people, settings, timed_import, write_roster  # noqa: E402
from bot.app import build_app  # noqa: E402
from tests.telegram_standin import TOKEN, text_update  # noqa: E402

SECRET = "bench-secret"
REPLIES_PER_CHECK = 7


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def start(*command: str, port: int, env: dict | None = None, cwd: Path | None = None):
    """A process serving HTTP on 127.0.0.1:port, once it answers."""
    process = await asyncio.create_subprocess_exec(*command, env=env, cwd=cwd)
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(f"http://127.0.0.1:{port}/healthz")
                return process
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit(f"{command} did not start")


async def run_bot(db_url: str, data: Path, api_port: int, port: int) -> asyncio.subprocess.Process:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PAYUNG_", "TELEGRAM_"))}
    env.update({
        "PAYUNG_NIK_KEY": KEY.get_secret_value(), "PAYUNG_DATA_DIR": str(data), "PAYUNG_DATABASE_URL": db_url,
        "PAYUNG_LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PAYUNG_TELEGRAM__MODE": "webhook", "PAYUNG_TELEGRAM__WEBHOOK_URL": "https://payung.example/telegram",
        "PAYUNG_TELEGRAM__BASE_URL": f"http://127.0.0.1:{api_port}/bot",
        "PAYUNG_TELEGRAM__PACE__OVERALL_PER_SECOND": "100000",
        "PAYUNG_TELEGRAM__PACE__PRIVATE_PER_SECOND": "100000", "PAYUNG_WEB__PORT": str(port),
    })  # fmt: skip
    return await start(sys.executable, "-m", "bot", "run", port=port, env=env, cwd=data)


async def replies(port: int) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/counts")).json().get("sendMessage", 0)


class Connection:
    """A bare HTTP/1.1 keep-alive client for the load: httpx spent more CPU
    per request than the bot spends per update, which on two cores measured
    the load generator instead of the bot."""

    def __init__(self, port: int):
        self.port = port

    async def __aenter__(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_exc) -> None:
        self.writer.close()

    async def post(self, path: str, payload: dict) -> int:
        body = json.dumps(payload).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status


async def converse(connection: Connection, chat_id: int, person: dict, first_update: int) -> None:
    born = date.fromisoformat(person["tanggal_lahir"]).strftime("%d-%m-%Y")
    for step, said in enumerate(("halo", "1", person["nik"], born, "2")):
        status = await connection.post("/telegram", text_update(first_update + step, chat_id, said))
        if status != 200:
            raise SystemExit(f"the webhook answered {status}")


async def bench(name: str, db_url: str, work: Path, chats: int, concurrency: int) -> None:
    data = Path(tempfile.mkdtemp(dir=work))
    app = build_app(settings(data, db_url))
    roster = work / "demo.csv"
    timed_import(app, roster)
    app.close()
    people = sample_people(roster, chats)
    # The stand-in, the bot and this load generator are three processes, so
    # none of them steals the others' event loop.
    api_port, port = free_port(), free_port()
    api = await start(sys.executable, "-m", "tests.telegram_standin", str(api_port), port=api_port,
                      cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    bot = await run_bot(db_url, data, api_port, port)
    try:
        queue = list(range(chats))

        async def person_after_person() -> None:
            async with Connection(port) as connection:
                while queue:
                    number = queue.pop()
                    await converse(connection, 10_000 + number, people[number % len(people)], number * 5 + 1)

        started, load_cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(person_after_person() for _ in range(concurrency)))
        acknowledged = time.perf_counter() - started
        while await replies(api_port) < chats * REPLIES_PER_CHECK:
            await asyncio.sleep(0.05)
        replied = time.perf_counter() - started
        rss = resident_kib(bot.pid)
        cpu = {"bot": cpu_seconds(bot.pid), "stand-in": cpu_seconds(api.pid), "load": time.process_time() - load_cpu}
    finally:
        for process in (bot, api):
            process.terminate()
            await process.wait()
    updates = chats * 5
    print(f"== {name} ==")
    print(f"webhook: {updates:,} updates from {chats:,} people, {concurrency} at a time")
    print(f"  acknowledged: {updates / acknowledged:,.0f} updates/s ({acknowledged:.1f} s)")
    print(f"  all {chats * REPLIES_PER_CHECK:,} replies at the stand-in: {updates / replied:,.0f} updates/s ({replied:.1f} s)")
    print(f"  bot resident memory afterwards: {rss / 1024:,.0f} MiB")
    print("  CPU seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL URL (it is wiped)")
    parser.add_argument("--chats", type=int, default=2000, help="people, 5 updates each (default: 10,000 updates)")
    parser.add_argument("--concurrency", type=int, default=32)
    options = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_roster(work / "demo.csv", 26_775)
        asyncio.run(bench("SQLite", f"sqlite:///{work / 'bench.db'}", work, options.chats, options.concurrency))
        if options.postgres:
            reset(options.postgres)
            asyncio.run(bench("PostgreSQL", options.postgres, work, options.chats, options.concurrency))


if __name__ == "__main__":
    main()
