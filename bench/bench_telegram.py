"""python-telegram-bot and aiogram behind the same Telegram channel, side by
side: webhook and polling, each with both libraries, in one run.

    .venv/bin/python bench/bench_telegram.py                # 2,000 people: 10,000 updates a run
    .venv/bin/python bench/bench_telegram.py --chats 500    # shorter

`python -m bot run` is its own process, the tests' stand-in Bot API another,
and this process is the people: each runs a whole coverage check by typing
(halo, 1, NIK, birth date, 2), waiting for the bot's replies to each message
before typing the next, many people at once. In webhook mode a message is a
POST to the bot's webhook; in polling mode it is handed to the stand-in, and
the bot fetches it with getUpdates. The stand-in tells when each reply
arrived, so the latency is from the moment a message was sent to the moment
its first reply reached the Bot API. Pacing is lifted so the figures measure
the channel, not Telegram's limits. SQLite throughout: the database is the
same for both libraries.

Prints, per library and mode: updates/s end to end, p50 and p99
update-to-reply latency, the bot's resident memory after the run, and the
CPU seconds it used; and the import time of each library's adapter module.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import KEY, sample_people, settings, timed_import, write_roster  # noqa: E402
from bench.bench_webhooks import SECRET, Connection, cpu_seconds, free_port, resident_kib, start  # noqa: E402
from bot.app import build_app  # noqa: E402
from tests import telegram_standin  # noqa: E402
from tests.processes import bench_started, bot_environment  # noqa: E402

LIBRARIES = {"python-telegram-bot": "bot.channels.telegram_ptb", "aiogram": "bot.channels.telegram_aiogram"}
REPLIES = (1, 1, 1, 2, 2)  # replies to halo, 1, NIK, birth date, 2
REPLIES_BEFORE = (0, *accumulate(REPLIES))


def environment(library: str, mode: str, api_port: int, web_port: int, data: Path, db_url: str) -> dict[str, str]:
    return bot_environment(
        PAYUNG_NIK_KEY=KEY.get_secret_value(),
        PAYUNG_DATA_DIR=str(data),
        PAYUNG_DATABASE_URL=db_url,
        PAYUNG_LOG_LEVEL="WARNING",
        PAYUNG_WEB__PORT=str(web_port),
        TELEGRAM_BOT_TOKEN=telegram_standin.TOKEN,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        PAYUNG_TELEGRAM__LIBRARY=library,
        PAYUNG_TELEGRAM__MODE=mode,
        PAYUNG_TELEGRAM__POLL_TIMEOUT="10",
        PAYUNG_TELEGRAM__WEBHOOK_URL="https://payung.example/telegram",
        PAYUNG_TELEGRAM__BASE_URL=f"http://127.0.0.1:{api_port}/bot",
        PAYUNG_TELEGRAM__PACE__OVERALL_PER_SECOND="100000",
        PAYUNG_TELEGRAM__PACE__PRIVATE_PER_SECOND="100000",
        PAYUNG_TELEGRAM__PACE__ACROSS_PROCESSES="false",  # one process; pacing is lifted
    )


async def person_after_person(
    mode: str, queue: list[int], people: list[dict], api_port: int, web_port: int, latencies: list[float]
) -> None:
    async with Connection(api_port) as api, Connection(web_port) as webhook:
        while queue:
            number = queue.pop()
            person, chat = people[number % len(people)], 10_000 + number
            born = date.fromisoformat(person["tanggal_lahir"]).strftime("%d-%m-%Y")
            for step, said in enumerate(("halo", "1", person["nik"], born, "2")):
                update = telegram_standin.text_update(number * 5 + step + 1, chat, said)
                sent_at = time.monotonic()
                if mode == "webhook":
                    status, _ = await webhook.request(
                        "POST", "/telegram", json.dumps(update).encode(), {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                    )
                else:
                    status, _ = await api.request("POST", "/push", json.dumps([update]).encode())
                if status != 200:
                    raise SystemExit(f"{mode}: answered {status}")
                status, body = await api.request("GET", f"/replies/{chat}?count={REPLIES_BEFORE[step + 1]}")
                if status != 200:
                    raise SystemExit(f"{mode}: no reply to message {step + 1} of chat {chat}")
                latencies.append(json.loads(body)[REPLIES_BEFORE[step]] - sent_at)


async def run(library: str, mode: str, work: Path, chats: int, concurrency: int) -> dict:
    data = Path(tempfile.mkdtemp(dir=work))
    db_url = f"sqlite:///{data / 'bench.db'}"
    app = build_app(settings(data, db_url))
    timed_import(app, work / "demo.csv")
    app.close()
    people = sample_people(work / "demo.csv", chats)
    api_port, web_port = free_port(), free_port()
    api = await start(sys.executable, "-m", "tests.telegram_standin", str(api_port), port=api_port)
    env = environment(library, mode, api_port, web_port, data, db_url)
    bot = await start(sys.executable, "-m", "bot", "run", port=web_port, env=env, cwd=data)
    try:
        queue, latencies = list(range(chats)), []
        started = time.perf_counter()
        await asyncio.gather(
            *(person_after_person(mode, queue, people, api_port, web_port, latencies) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - started
        rss, cpu = resident_kib(bot.pid), cpu_seconds(bot.pid)
    finally:
        for process in (bot, api):
            process.terminate()
            await process.wait()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "updates/s": len(latencies) / elapsed,
        "p50 ms": quantiles[49] * 1000,
        "p99 ms": quantiles[98] * 1000,
        "MiB": rss / 1024,
        "bot CPU s": cpu,
    }


def import_ms(module: str, repeats: int = 5) -> float:
    """The adapter's own import, after the shared channel module: best of a
    few fresh interpreters."""
    code = (
        f"import time, bot.channels.telegram; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout)
        for _ in range(repeats)
    ]
    return min(runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=2000, help="people, 5 updates each (default: 10,000 updates)")
    parser.add_argument("--concurrency", type=int, default=32, help="people typing at once")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    options = parser.parse_args()
    bench_started(options.timeout)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"{options.chats * 5:,} updates a run, {options.concurrency} people at once"
    )
    results: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_roster(work / "demo.csv", 26_775)
        for mode in ("webhook", "polling"):
            for library in LIBRARIES:
                results[(mode, library)] = asyncio.run(run(library, mode, work, options.chats, options.concurrency))
    columns = list(LIBRARIES)
    print(f"{'':<22}" + "".join(f"{name:>22}" for name in columns))
    for mode in ("webhook", "polling"):
        for figure in ("updates/s", "p50 ms", "p99 ms", "MiB", "bot CPU s"):
            cells = "".join(f"{results[(mode, library)][figure]:>22,.1f}" for library in columns)
            print(f"{mode + ' ' + figure:<22}{cells}")
    print(f"{'import ms':<22}" + "".join(f"{import_ms(module):>22,.1f}" for module in LIBRARIES.values()))


if __name__ == "__main__":
    main()
