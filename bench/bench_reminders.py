"""Reminder benchmarks: the fan-out of one stage at the configured rates, and
planning time.

    .venv/bin/python bench/bench_reminders.py                 # SQLite
    .venv/bin/python bench/bench_reminders.py --postgres URL  # PostgreSQL too (it is wiped)
    .venv/bin/python bench/bench_reminders.py --people 3000   # a shorter fan-out

Fan-out: every person of the demo roster has said yes on one chat (Telegram
and WhatsApp alternately); one stage is drained by this process through the
real channels to the stand-in APIs (each in its own process) at the default
rates, 25/s on Telegram and 60/s on WhatsApp (through templates, being outside
24 hours). Prints, per platform and from the stand-in's arrival log, the
achieved rate over the configured one and the busiest one-second window;
and the busiest window as the bot wrote the requests to their sockets. The
two differ by the stand-in's own lag: on a loaded machine it may handle a
request tens of milliseconds after it was written, bunching arrivals the
limiter had spread, which a network whose delay varies does as well.
Planning: all stages for 26,775 and for 1,000,000 consenting people.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_core import reset, settings, timed_import, write_roster  # noqa: E402
from bench.bench_webhooks import free_port, start  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.channels import api_transport  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.channels.whatsapp import WhatsAppChannel, WhatsAppSecrets  # noqa: E402
from bot.config import TemplateSettings  # noqa: E402
from bot.reminder_plan import template_key  # noqa: E402
from tests import graph_standin, telegram_standin  # noqa: E402
from tests.processes import bench_started  # noqa: E402

PLANNED_AT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
FIRST_STAGE = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Muara Enim


def everyone_consents(app, count: int) -> None:
    """One chat per participant (Telegram for odd ids, WhatsApp for even),
    each following that participant: in SQL, so a million takes seconds."""
    with app.db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO chats (channel, chat_id, language, active, last_inbound_at, created_at) "
                "SELECT CASE WHEN id % 2 = 1 THEN 'telegram' ELSE 'whatsapp' END, CAST(800000000 + id AS VARCHAR), "
                "'id', TRUE, :now, :now FROM participants WHERE id <= :count"
            ),
            {"now": PLANNED_AT.replace(tzinfo=None), "count": count},
        )
        session.execute(
            text(
                "INSERT INTO reminder_subscriptions (chat_pk, participant_id, active, created_at) "
                "SELECT chats.id, CAST(chats.chat_id AS INTEGER) - 800000000, TRUE, :now FROM chats"
            ),
            {"now": PLANNED_AT.replace(tzinfo=None)},
        )


async def arrivals(port: int) -> list[float]:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{port}/arrivals")).json()


PACED_CALLS = ("/sendMessage", "/messages")  # Telegram's and the Graph API's sends


@contextmanager
def writes_logged() -> Iterator[dict[int, list[float]]]:
    """When the bot finished writing each paced call's request to its socket,
    by the stand-in's port: the moments the pacing itself counts from. The
    transport's trace hook is wrapped, not replaced, for the HTTP sessions
    made inside the block (each channel makes its own on its first call)."""
    requests: dict[int, list[SimpleNamespace]] = defaultdict(list)
    told = api_transport._written

    async def logged(session: Any, context: SimpleNamespace, params: Any) -> None:
        if params.url.path.endswith(PACED_CALLS):
            if not hasattr(context, "written"):
                requests[params.url.port].append(context)
            context.written = time.monotonic()  # the headers, then each piece of the body: the last counts
        await told(session, context, params)

    api_transport._written = logged
    written: dict[int, list[float]] = {}
    try:
        yield written
    finally:
        api_transport._written = told
        written.update({port: sorted(call.written for call in calls) for port, calls in requests.items()})


async def fan_out(app, people: int, round_trip: float) -> None:
    telegram_port, graph_port = free_port(), free_port()
    apis = [
        await start(sys.executable, "-m", module, str(port), str(round_trip), port=port)
        for module, port in (("tests.telegram_standin", telegram_port), ("tests.graph_standin", graph_port))
    ]
    try:
        app.settings.telegram = app.settings.telegram.model_copy(
            update={"base_url": f"http://127.0.0.1:{telegram_port}/bot"}
        )
        app.settings.whatsapp = app.settings.whatsapp.model_copy(
            update={
                "enabled": True,
                "phone_number_id": graph_standin.PHONE_ID,
                "graph_base_url": f"http://127.0.0.1:{graph_port}",
                "templates": {
                    template_key(stage): TemplateSettings(
                        name=f"payung_{template_key(stage)}", parameters=["name", "end_date"]
                    )
                    for stage in app.settings.reminders.stages
                },
            }
        )
        secrets = WhatsAppSecrets(graph_standin.TOKEN, "bench", "bench")
        with writes_logged() as written:  # before the channels' first calls make their HTTP sessions
            channels = {
                "telegram": TelegramChannel.of(app, token=telegram_standin.TOKEN),
                "whatsapp": WhatsAppChannel.of(app, secrets),
            }
            await channels["telegram"].api.open()
            app.planner().plan(PLANNED_AT)
            started = time.perf_counter()
            done = await app.drainer(channels).drain(FIRST_STAGE)
            elapsed = time.perf_counter() - started
            for channel in channels.values():
                await channel.stop()
        for name, port, rate in (
            ("Telegram", telegram_port, app.settings.telegram.pace.overall_per_second),
            ("WhatsApp", graph_port, app.settings.whatsapp.pace.per_second),
        ):
            times = sorted(await arrivals(port))
            # The last arrivals take a whole window too: n calls at `rate` a
            # second span (n / rate - 1) seconds, so n / (span + 1) is the
            # rate when n fills its last window; window to window, it is the
            # rate whatever n (telegram_standin.sustained_rate).
            achieved = len(times) / (times[-1] - times[0] + 1.0) if times else 0.0
            sustained = telegram_standin.sustained_rate(times, rate)
            print(
                f"  {name}: {len(times):,} reminders, {achieved:.1f}/s of {rate}/s configured "
                f"({achieved / rate:.2f}); window to window {sustained:.1f}/s ({sustained / rate:.2f}); "
                f"busiest one-second window {telegram_standin.most_in_any_second(times)} at the stand-in, "
                f"{telegram_standin.most_in_any_second(written.get(port, []))} as the bot wrote them "
                f"({len(written.get(port, [])):,} written)"
            )
        print(f"  whole stage: {elapsed:.0f} s, {dict(done)}")
    finally:
        for api in apis:
            api.terminate()
            await api.wait()


def planning(app, people: int) -> None:
    everyone_consents(app, people)
    started = time.perf_counter()
    planned = app.planner().plan(PLANNED_AT)
    print(f"  planning {people:,} people: {sum(planned.values()):,} rows in {time.perf_counter() - started:.1f} s")


def fresh_app(work: Path, url: str, roster: Path):
    if url.startswith("postgres"):
        reset(url)
    data = Path(tempfile.mkdtemp(dir=work))
    app = build_app(settings(data, url if url.startswith("postgres") else f"sqlite:///{data / 'bench.db'}"))
    timed_import(app, roster)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL URL (it is wiped)")
    parser.add_argument("--people", type=int, default=26_775, help="people in the fan-out")
    parser.add_argument("--round-trip-ms", type=float, default=150, help="simulated network round trip")
    parser.add_argument("--plan-rows", type=int, default=1_000_000, help="the larger planning run")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    options = parser.parse_args()
    bench_started(options.timeout)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for rows in sorted({26_775, options.people, options.plan_rows}):
            write_roster(work / f"roster-{rows}.csv", rows)
        for name, url in [("SQLite", "sqlite"), *([("PostgreSQL", options.postgres)] if options.postgres else [])]:
            print(f"== {name} ==")
            app = fresh_app(work, url, work / f"roster-{options.people}.csv")
            everyone_consents(app, options.people)
            print(f"fan-out, {options.round_trip_ms:.0f} ms simulated round trip to each platform:")
            asyncio.run(fan_out(app, options.people, options.round_trip_ms / 1000))
            app.close()
            for rows in sorted({26_775, options.plan_rows}):
                app = fresh_app(work, url, work / f"roster-{rows}.csv")
                planning(app, rows)
                app.close()


if __name__ == "__main__":
    main()
