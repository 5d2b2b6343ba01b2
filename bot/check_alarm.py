"""Failed identity checks across the whole process: a rate far above normal
(someone trying NIKs from many chats) logs a WARNING and counts in
payung_check_alarms, at most once a minute."""

from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.metrics import Metrics
from handlers.events import CheckFailed, Event

log = logging.getLogger(__name__)
MINUTE = timedelta(minutes=1)


class CheckAlarm:
    def __init__(self, *, per_minute: int, metrics: Metrics):
        self.per_minute = per_minute
        self.metrics = metrics
        self._recent: deque[datetime] = deque()
        self._quiet_until: datetime | None = None
        self._lock = threading.Lock()  # on PostgreSQL, messages' transactions run in several threads

    def react(self, session: Session, event: Event, now: datetime) -> None:
        if not isinstance(event, CheckFailed):
            return
        self.metrics.failed_checks.inc()
        with self._lock:
            self._count(event.at)

    def _count(self, at: datetime) -> None:
        self._recent.append(at)
        while self._recent[0] <= at - MINUTE:
            self._recent.popleft()
        if len(self._recent) < self.per_minute or (self._quiet_until and at < self._quiet_until):
            return
        log.warning(
            "identity checks are failing fast: %d in the last minute (alarm at %d); someone may be trying NIKs",
            len(self._recent),
            self.per_minute,
        )
        self.metrics.check_alarms.inc()
        self._quiet_until = at + MINUTE
