"""Environments for bot processes that tests and benchmarks start."""

from __future__ import annotations

import faulthandler
import os
import socket

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
