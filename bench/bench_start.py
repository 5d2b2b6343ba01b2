"""Cold start: how long `python -m bot --help` takes, beside bare anchors
measured in the same run (the interpreter alone, and the CLI's own
libraries, Typer and Rich, alone); and a command that reads the database
(`officers list`, on an empty SQLite database), beside the database schema
alone (SQLAlchemy, SQLModel and Payung's tables), which every such command loads.

    .venv/bin/python bench/bench_start.py [--runs 9]

Prints the medians; the goal is in the README's Performance table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import bench_started, bot_environment  # noqa: E402

GOAL_SECONDS = 0.3


def timed(argv: list[str], expect: str, cwd: Path = ROOT) -> float:
    """Seconds for one run of `argv` in `cwd`, which must succeed and print `expect`."""
    # PYTHONPATH: this checkout's code, wherever the command runs.
    environment = bot_environment(PAYUNG_NIK_KEY="bench-key-" + "s" * 32, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=environment, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or expect not in done.stdout:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed


def median(argv: list[str], expect: str, runs: int, cwd: Path = ROOT) -> float:
    # The first run warms the disk cache and the .pyc files (and makes the database).
    timed(argv, expect, cwd)
    return statistics.median(timed(argv, expect, cwd) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    options = parser.parse_args()
    bench_started(options.timeout)
    python = sys.executable
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; median of {options.runs} runs")
    bare = median([python, "-c", "print('ok')"], "ok", options.runs)
    libraries = median([python, "-c", "import typer, rich.console, rich.table; print('ok')"], "ok", options.runs)
    payung = median([python, "-m", "bot", "--help"], "import-roster", options.runs)
    schema = median([python, "-c", "import storage.tables; print('ok')"], "ok", options.runs)
    with tempfile.TemporaryDirectory() as empty:
        command = median([python, "-m", "bot", "officers", "list"], "linked chats", options.runs, Path(empty))
    print(f"python alone                 {bare * 1000:6.0f} ms   (anchor)")
    print(f"typer + rich alone           {libraries * 1000:6.0f} ms   (anchor)")
    verdict = "meets" if payung <= GOAL_SECONDS else "MISSES"
    print(f"python -m bot --help         {payung * 1000:6.0f} ms   goal <= {GOAL_SECONDS * 1000:.0f} ms: {verdict}")
    print(f"the database schema alone    {schema * 1000:6.0f} ms   (anchor)")
    print(f"python -m bot officers list  {command * 1000:6.0f} ms   (an empty SQLite database)")


if __name__ == "__main__":
    main()
