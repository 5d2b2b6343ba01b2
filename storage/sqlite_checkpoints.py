"""SQLite's write-ahead log copied back into the database file by a thread
of its own. By default SQLite does it inside whichever commit takes the log
past 1,000 pages, and the bot commits on its event loop: every chat would
wait for the copy and its fsync (the coverage check's p99 was 14-17 ms
with it, 6-7 ms without, on the 2-core machine).

A copy made beside the commits cannot start the log again from its top:
SQLite does that only once a checkpoint has copied every frame, and under a
steady stream of commits new frames arrive while it copies. Unchecked, the
log grew for as long as the stream lasted (36 KiB a message: 1 GiB after
30,000 messages of a burst, every page read slower for searching its index).
So once a copy finds the log past `log_limit`, the next commit finishes it
with a RESTART checkpoint in the committing thread (8-16 ms under the
dispatcher bench's load, once in about five seconds; the PASSIVE copy did
the rest), after which the log is written again from its top. A thread of
its own would wait for the write lock between this process's commits and
lose that race for as long as they come. The RESTART waits at most
RESTART_WAIT_MS for another process's writer or reader; if that is not
enough it copies what it can and the next copy asks again. (TRUNCATE, which
also gives the file's space back, took 75 ms.)"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

log = logging.getLogger(__name__)

# The connection option that leaves checkpoints to this module.
NO_AUTOCHECKPOINT = "PRAGMA wal_autocheckpoint=0"

LOG_LIMIT = 256 * 1024 * 1024  # bytes: a few seconds of the busiest bot's writes
RESTART_WAIT_MS = 100


class Checkpoints:
    """After a commit, at most one checkpoint a `every` seconds, each in a
    short-lived thread, one at a time: an idle database starts none. PASSIVE:
    it copies what no reader still needs and never waits for the writer. A
    log past `log_limit` is then started again by the next commit (above)."""

    def __init__(self, engine: Engine, *, every: float = 1.0, log_limit: int = LOG_LIMIT):
        self.engine = engine
        self.every = every
        self.log_limit = log_limit
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._running: threading.Thread | None = None
        self._log_full = False  # the last copy found the log longer than log_limit

    def committed(self) -> None:
        with self._lock:
            running = self._running is not None and self._running.is_alive()
            if self._log_full and not running:
                self._log_full = False
                self._checkpoint("RESTART", wait_ms=RESTART_WAIT_MS)
                return
            now = time.monotonic()
            if now - self._last < self.every or running:
                return
            self._last = now
            self._running = threading.Thread(target=self._copy, name="sqlite-checkpoint", daemon=True)
            self._running.start()

    def _copy(self) -> None:
        frames, page_size = self._checkpoint("PASSIVE", wait_ms=0)
        self._log_full = frames * page_size > self.log_limit

    def _checkpoint(self, mode: str, *, wait_ms: int) -> tuple[int, int]:
        """A checkpoint, waiting at most `wait_ms` for other connections; the
        log's length in frames then, and the page size (0, 0 if it failed:
        the next commit's checkpoint tries again)."""
        try:
            connection = self.engine.raw_connection()
            try:
                # The DBAPI connection is in autocommit (storage/db.py), so no
                # BEGIN IMMEDIATE: a PASSIVE copy must not take the write lock.
                cursor = connection.cursor()
                usual = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
                cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
                try:
                    _busy, frames, _copied = cursor.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                finally:
                    cursor.execute(f"PRAGMA busy_timeout={usual}")  # the connection goes back to the pool
                return frames, cursor.execute("PRAGMA page_size").fetchone()[0]
            finally:
                connection.close()
        except Exception as error:
            log.warning("SQLite checkpoint failed: %s", error)
            return 0, 0

    def wait(self) -> None:
        """Let a running checkpoint finish (before the engine is disposed)."""
        with self._lock:
            running = self._running
        if running is not None:
            running.join()
