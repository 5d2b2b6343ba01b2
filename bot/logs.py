"""Logging set-up. No code path logs a NIK, a phone number or a secret on
purpose. The libraries' own loggers (python-telegram-bot, aiogram, pywa,
httpx) log whole update bodies below INFO, so they never go below INFO,
whatever log_level says. The filter is the second lock on the door: it
masks NIK-shaped runs (separators too), phone numbers and bot tokens in every
record, tracebacks included."""

from __future__ import annotations

import logging
import re

from storage.privacy import mask_niks

BOT_TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{30,}")  # as in a Bot API URL
# An Indonesian number however written: +62 812-3456-7890, 6281234567890, 0812 3456 7890.
PHONE = re.compile(r"(?<![\d+])(?:\+?62[ .-]?|0)8(?:[ .-]?\d){7,11}(?!\d)")
# Libraries whose DEBUG lines carry whole messages people sent.
CHATTY = ("telegram", "aiogram", "pywa", "pywa_async", "httpx", "httpcore", "hpack", "alembic")


def redacted(text: str) -> str:
    return PHONE.sub("<phone>", BOT_TOKEN.sub("<token>", mask_niks(text)))


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (masked := redacted(message)) != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # The formatter prints exc_text when it is set: the traceback, masked.
            record.exc_text = redacted(logging.Formatter().formatException(record.exc_info))
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(Redact())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # Below WARNING the libraries narrate: Alembic every start-up, HTTP
    # clients each request's URL (a Bot API URL holds the token), aiogram
    # every update, and at DEBUG all of them whole message bodies.
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
