"""PostgreSQL connections are pinged before use only once they have rested.

SQLAlchemy's `pool_pre_ping` sends a round trip before every checkout: on
PostgreSQL one of the nine a message costs, 7% of the dispatcher's time. A
connection given back to the pool less than `rested` seconds ago was working
then; one that rested longer (the server restarted meanwhile, a firewall
dropped it) is pinged first, and if the ping fails, the pool discards it and
every connection older than it and opens a new one, as pre-ping does. A
connection broken within those seconds fails its transaction once (an
inbound message is apologised for and retried at the platform's
redelivery); SQLAlchemy then discards the pool's connections as well.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, event, exc

RESTED_SECONDS = 1.0
IDLE_SINCE = "payung_idle_since"


def ping_rested_connections(engine: Engine, rested: float = RESTED_SECONDS) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def rest(_dbapi_connection, record) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_rested(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < rested:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise exc.InvalidatePoolError(f"connection lost while it rested: {error}") from error
