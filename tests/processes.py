"""Environments for bot processes that tests and benchmarks start."""

from __future__ import annotations

import os

PREFIXES = ("PAYUNG_", "TELEGRAM_", "WHATSAPP_")


def bot_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any Payung or platform setting of
    the machine's, plus `settings`: a child bot sees only what it is given."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(PREFIXES)}
    environment.update(settings)
    return environment
