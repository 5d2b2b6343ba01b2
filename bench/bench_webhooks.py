"""Webhook benchmarks, Telegram and WhatsApp side by side: `python -m bot run`
as its own process, the tests' stand-in platform API as another, and this
process as the load, all talking real HTTP on 127.0.0.1.

    .venv/bin/python bench/bench_webhooks.py                 # SQLite
    .venv/bin/python bench/bench_webhooks.py --postgres URL  # PostgreSQL too (it is wiped)

Each simulated person runs a whole coverage check by typing (halo, 1, NIK,
birth date, 2: five messages, seven replies); many people at once. Pacing is
lifted for the run so the figures measure Payung, not the platforms' limits.
Prints messages/s acknowledged by the webhook (once 1,000 replies are in
hand, no faster than they go out), messages/s until the last reply reached
the stand-in, the bot's resident memory afterwards, and the CPU each process used.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import KEY, reset, sample_people, settings, timed_import, write_roster  # noqa: E402
from bot.app import build_app  # noqa: E402
from tests import graph_standin, telegram_standin  # noqa: E402
from tests.processes import bench_started, bot_environment  # noqa: E402

SECRET = "bench-secret"
REPLIES_PER_CHECK = 7


@dataclass(frozen=True)
class Platform:
    name: str
    standin: str  # module serving the stand-in API
    replies_key: str  # in the stand-in's /counts
    env: Callable[[int], dict[str, str]]  # stand-in port -> the bot's environment
    request: Callable[
        [int, int, str], tuple[str, bytes, dict[str, str]]
    ]  # (message no., chat, text) -> path, body, headers


def telegram_request(number: int, chat: int, said: str) -> tuple[str, bytes, dict[str, str]]:
    body = json.dumps(telegram_standin.text_update(number, chat, said)).encode()
    return "/telegram", body, {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def whatsapp_request(number: int, chat: int, said: str) -> tuple[str, bytes, dict[str, str]]:
    payload = graph_standin.delivery(messages=[graph_standin.text(f"wamid.{number}", str(6281000000000 + chat), said)])
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return "/whatsapp", body, {"X-Hub-Signature-256": signature}


PLATFORMS = (
    Platform(
        "Telegram",
        "tests.telegram_standin",
        "sendMessage",
        lambda port: {
            "TELEGRAM_BOT_TOKEN": telegram_standin.TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "PAYUNG_TELEGRAM__MODE": "webhook",
            "PAYUNG_TELEGRAM__WEBHOOK_URL": "https://payung.example/telegram",
            "PAYUNG_TELEGRAM__BASE_URL": f"http://127.0.0.1:{port}/bot",
            "PAYUNG_TELEGRAM__PACE__OVERALL_PER_SECOND": "100000",
            "PAYUNG_TELEGRAM__PACE__PRIVATE_PER_SECOND": "100000",
            "PAYUNG_TELEGRAM__PACE__ACROSS_PROCESSES": "false",  # one process; pacing is lifted
        },
        telegram_request,
    ),
    Platform(
        "WhatsApp",
        "tests.graph_standin",
        "messages",
        lambda port: {
            "PAYUNG_TELEGRAM__ENABLED": "false",
            "PAYUNG_WHATSAPP__ENABLED": "true",
            "PAYUNG_WHATSAPP__PHONE_NUMBER_ID": graph_standin.PHONE_ID,
            "PAYUNG_WHATSAPP__GRAPH_BASE_URL": f"http://127.0.0.1:{port}",
            "WHATSAPP_TOKEN": graph_standin.TOKEN,
            "WHATSAPP_APP_SECRET": SECRET,
            "WHATSAPP_VERIFY_TOKEN": SECRET,
            "PAYUNG_WHATSAPP__PACE__PER_SECOND": "100000",
            "PAYUNG_WHATSAPP__PACE__ACROSS_PROCESSES": "false",  # one process; pacing is lifted
            "PAYUNG_WHATSAPP__PACE__PER_RECIPIENT_PER_SECOND": "100000",
        },
        whatsapp_request,
    ),
)


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


async def start(*command: str, port: int, env: dict | None = None, cwd: Path = ROOT):
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


async def count(port: int, key: str) -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/counts")).json().get(key, 0)


class Connection:
    """A bare HTTP/1.1 keep-alive client for the load: httpx spent more CPU
    per request than the bot spends per message, which on two cores measured
    the load generator instead of the bot."""

    def __init__(self, port: int):
        self.port = port

    async def __aenter__(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_exc) -> None:
        self.writer.close()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        status, _ = await self.request("POST", path, body, headers)
        return status

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        lines = [
            f"{method} {path} HTTP/1.1",
            "Host: 127.0.0.1",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)


async def bench(platform: Platform, db_url: str, work: Path, chats: int, concurrency: int) -> None:
    data = Path(tempfile.mkdtemp(dir=work))
    app = build_app(settings(data, db_url))
    timed_import(app, work / "demo.csv")
    app.close()
    people = sample_people(work / "demo.csv", chats)
    api_port, port = free_port(), free_port()
    api = await start(sys.executable, "-m", platform.standin, str(api_port), port=api_port)
    env = bot_environment(
        PAYUNG_NIK_KEY=KEY.get_secret_value(),
        PAYUNG_DATA_DIR=str(data),
        PAYUNG_DATABASE_URL=db_url,
        PAYUNG_LOG_LEVEL="WARNING",
        PAYUNG_WEB__PORT=str(port),
        **platform.env(api_port),
    )
    bot = await start(sys.executable, "-m", "bot", "run", port=port, env=env, cwd=data)
    try:
        queue = list(range(chats))

        async def person_after_person() -> None:
            async with Connection(port) as connection:
                while queue:
                    number = queue.pop()
                    person = people[number % len(people)]
                    born = date.fromisoformat(person["tanggal_lahir"]).strftime("%d-%m-%Y")
                    for step, said in enumerate(("halo", "1", person["nik"], born, "2")):
                        status = await connection.post(*platform.request(number * 5 + step + 1, 10_000 + number, said))
                        if status != 200:
                            raise SystemExit(f"the {platform.name} webhook answered {status}")

        started, load_cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(person_after_person() for _ in range(concurrency)))
        acknowledged = time.perf_counter() - started
        while await count(api_port, platform.replies_key) < chats * REPLIES_PER_CHECK:
            await asyncio.sleep(0.05)
        replied = time.perf_counter() - started
        rss = resident_kib(bot.pid)
        cpu = {"bot": cpu_seconds(bot.pid), "stand-in": cpu_seconds(api.pid), "load": time.process_time() - load_cpu}
    finally:
        for process in (bot, api):
            process.terminate()
            await process.wait()
    messages = chats * 5
    print(f"  {platform.name}: {messages:,} messages from {chats:,} people, {concurrency} at a time")
    print(f"    acknowledged: {messages / acknowledged:,.0f} messages/s ({acknowledged:.1f} s)")
    replies = chats * REPLIES_PER_CHECK
    print(f"    all {replies:,} replies at the stand-in: {messages / replied:,.0f} messages/s ({replied:.1f} s)")
    print(f"    bot resident memory afterwards: {rss / 1024:,.0f} MiB")
    print("    CPU seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL URL (it is wiped)")
    parser.add_argument("--chats", type=int, default=2000, help="people, 5 messages each (default: 10,000 messages)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    options = parser.parse_args()
    bench_started(options.timeout)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_roster(work / "demo.csv", 26_775)
        databases = [("SQLite", lambda name: f"sqlite:///{work / name}.db")]
        if options.postgres:
            databases.append(("PostgreSQL", lambda _name: options.postgres))
        for database, url in databases:
            print(f"== {database} ==")
            for platform in PLATFORMS:
                if database == "PostgreSQL":
                    reset(options.postgres)
                asyncio.run(bench(platform, url(platform.name), work, options.chats, options.concurrency))


if __name__ == "__main__":
    main()
