"""What stands between the console and whoever reaches it: a limit on login
tries per address, and a CSRF token per session checked on every form."""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from datetime import datetime, timedelta

from starlette.requests import Request

CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"  # what HTMX sends (hx-headers on the page's body)


class AddressLimiter:
    """At most `most` login tries per address in `period`. Kept in memory: a
    restart forgives an address, while the account lock (in the database)
    holds across restarts and processes."""

    def __init__(self, most: int, period: timedelta = timedelta(minutes=15)):
        self.most = most
        self.period = period
        self._tries: dict[str, deque[datetime]] = {}

    def allow(self, address: str, now: datetime) -> bool:
        """Count a try from `address`; whether it may go ahead."""
        tries = self._tries.setdefault(address, deque())
        while tries and tries[0] <= now - self.period:
            tries.popleft()
        if len(tries) >= self.most:
            return False
        tries.append(now)
        if len(self._tries) > 10_000:  # forget idle addresses rather than grow without end
            for idle in [key for key, value in self._tries.items() if not value]:
                del self._tries[idle]
        return True


def csrf_token(request: Request) -> str:
    """The session's token, made on first need."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form_token: str | None) -> bool:
    expected = request.session.get(CSRF_FIELD)
    given = form_token or request.headers.get(CSRF_HEADER) or ""
    return bool(expected) and hmac.compare_digest(str(expected), str(given))
