"""Environments for bot processes that tests and benchmarks start."""

from __future__ import annotations

import asyncio
import errno
import faulthandler
import multiprocessing
import os
import runpy
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

PREFIXES = ("PAYUNG_", "TELEGRAM_", "WHATSAPP_")


def bot_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any Payung or platform setting of
    the machine's, plus `settings`: a child bot sees only what it is given."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(PREFIXES)}
    environment.update(settings)
    return environment


def bench_started(timeout_seconds: float) -> None:
    """A benchmark's first step: no Payung or platform variable of the shell
    reaches an app it builds in this process (a PAYUNG_NIK_KEY or
    PAYUNG_DATABASE_URL left set would change what is measured, or hang it),
    and a run that hangs past `timeout_seconds` ends, printing where it stood."""
    for key in [key for key in os.environ if key.startswith(PREFIXES)]:
        del os.environ[key]
    faulthandler.dump_traceback_later(timeout_seconds, exit=True)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now, for a child bot's web app."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# What `python -m bot` commands import (bot.cli itself is left out: its Rich
# consoles look at the terminal when they are made, which must be the
# command's own output, not the fork server's).
PRELOADED = ["bot.app", "bot.service", "bot.ops.roster", "bot.ops.stats", "handlers.flows", "openpyxl"]


class ForkedBot:
    """`python -m bot *args` in a process of its own (its own directory,
    environment, standard streams, umask, signals and exit code), forked from
    a server that has already imported the libraries: the same run as a
    fresh interpreter's without paying most of a second of imports each
    time. The tests of a cold start (tests/test_cli.py) start a fresh
    interpreter. Its input is `stdin`, or with `stdin=None` what is written to
    `.stdin` until it is closed; its output is read from files."""

    def __init__(self, cwd: Path, args: list[str], *, env: dict[str, str], stdin: str | None = ""):
        self.args = ["python", "-m", "bot", *args]
        self._streams = tempfile.TemporaryDirectory()
        self._paths = [Path(self._streams.name, name) for name in ("stdin", "stdout", "stderr")]
        if stdin is None:
            os.mkfifo(self._paths[0])
        else:
            self._paths[0].write_text(stdin, encoding="utf-8")
        for path in self._paths[1:]:
            path.touch()
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOADED)  # used when this test process first forks
        self._process = context.Process(
            target=_python_m_bot, args=(str(cwd), args, env, [str(path) for path in self._paths])
        )
        self._process.start()
        self.pid = self._process.pid
        self.stdin = self._writing_end(self._paths[0]) if stdin is None else None

    def _writing_end(self, fifo: Path, timeout: float = 60) -> TextIO:
        """The pipe's end for writing, once the process has opened the other
        (its first step); a process that died before that fails the test."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as error:  # ENXIO: nobody reads it yet
                if error.errno != errno.ENXIO or self.returncode is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        os.set_blocking(descriptor, True)
        return open(descriptor, "w", encoding="utf-8")  # noqa: SIM115 (closed by finish)

    def printed(self) -> str:
        """What it has written to its standard output so far."""
        return self._paths[1].read_text(encoding="utf-8")

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def finish(self, timeout: float) -> subprocess.CompletedProcess:
        """Its exit code and output, once it has ended (killed past `timeout`)."""
        if self.stdin is not None:
            self.stdin.close()
        self._process.join(timeout)
        if self.returncode is None:
            self._process.kill()
            self._process.join()
            raise subprocess.TimeoutExpired(self.args, timeout)
        stdout, stderr = (path.read_text(encoding="utf-8") for path in self._paths[1:])
        self._streams.cleanup()
        return subprocess.CompletedProcess(self.args, self.returncode, stdout, stderr)

    async def finished(self, timeout: float = 60) -> subprocess.CompletedProcess:
        return await asyncio.to_thread(self.finish, timeout)


def _python_m_bot(cwd: str, args: list[str], env: dict[str, str], streams: list[str]) -> None:
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for descriptor, path in enumerate(streams):
        opened = os.open(path, os.O_RDONLY if descriptor == 0 else os.O_WRONLY)
        os.dup2(opened, descriptor)
        os.close(opened)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 (the process's own stream)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.argv = ["bot", *args]
    try:
        runpy.run_module("bot", run_name="__main__", alter_sys=True)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
