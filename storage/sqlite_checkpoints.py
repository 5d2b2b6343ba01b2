"""SQLite's write-ahead log copied back into the database file by a thread
of its own. By default SQLite does it inside whichever commit takes the log
past 1,000 pages, and the bot commits on its event loop: every chat would
wait for the copy and its fsync (the coverage check's p99 was 14-17 ms
with it, 6-7 ms without, on the 2-core machine)."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

log = logging.getLogger(__name__)

# The connection option that leaves checkpoints to this module.
NO_AUTOCHECKPOINT = "PRAGMA wal_autocheckpoint=0"


class Checkpoints:
    """After a commit, at most one checkpoint a `every` seconds, each in a
    short-lived thread, one at a time: an idle database starts none, and a
    busy one keeps its log to about a second of writes. PASSIVE: it copies
    what no reader still needs and never waits for the writer."""

    def __init__(self, engine: Engine, *, every: float = 1.0):
        self.engine = engine
        self.every = every
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._running: threading.Thread | None = None

    def committed(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.every or (self._running is not None and self._running.is_alive()):
                return
            self._last = now
            self._running = threading.Thread(target=self._checkpoint, name="sqlite-checkpoint", daemon=True)
            self._running.start()

    def _checkpoint(self) -> None:
        try:
            connection = self.engine.raw_connection()
            try:
                # The DBAPI connection is in autocommit (storage/db.py), so no
                # BEGIN IMMEDIATE: a checkpoint must not take the write lock.
                connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            finally:
                connection.close()
        except Exception as error:  # the next commit's checkpoint tries again
            log.warning("SQLite checkpoint failed: %s", error)

    def wait(self) -> None:
        """Let a running checkpoint finish (before the engine is disposed)."""
        with self._lock:
            running = self._running
        if running is not None:
            running.join()
