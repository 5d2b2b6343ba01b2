"""Logging set-up. No code path logs a NIK or a secret on purpose; the
filter is the second lock on the door, masking any 16-digit run and any bot
token that slips into a record."""

from __future__ import annotations

import logging
import re

from storage.privacy import mask_niks

BOT_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")  # as in a Bot API URL


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = BOT_TOKEN.sub("<token>", mask_niks(message))
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(Redact())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # Alembic narrates every start-up at INFO; only its problems matter here.
    # HTTP clients log each request's URL at INFO, and a Bot API URL holds
    # the token; aiogram logs every update it dispatches.
    for noisy in ("alembic", "httpx", "httpcore", "aiogram.event"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
