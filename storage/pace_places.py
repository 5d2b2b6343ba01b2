"""A bot's places at one of its platform's rates (the overall one, a
group's), as rows every sending process shares (PostgreSQL only: SQLite
serves one process). Times are the database's own clock, so processes on
several machines agree on them."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

NOW = "(clock_timestamp() AT TIME ZONE 'UTC')"

ENSURE = text(
    "INSERT INTO pace_places (window_name, place, free_at) "
    "SELECT :window, n, TIMESTAMP '2000-01-01' FROM generate_series(0, :limit - 1) AS n "
    "ON CONFLICT DO NOTHING"
)
TAKE = text(
    f"UPDATE pace_places SET free_at = {NOW} + make_interval(secs => :lease) "
    "WHERE window_name = :window AND place = ("
    "  SELECT place FROM pace_places"
    f"  WHERE window_name = :window AND place < :limit AND free_at <= {NOW}"
    "  ORDER BY free_at LIMIT 1 FOR UPDATE SKIP LOCKED"
    ") RETURNING place"
)
SOONEST = text(
    f"SELECT EXTRACT(EPOCH FROM min(free_at) - {NOW}) FROM pace_places WHERE window_name = :window AND place < :limit"
)
GIVE_BACK = text(
    f"UPDATE pace_places SET free_at = {NOW} + make_interval(secs => :period) "
    "WHERE window_name = :window AND place = :place"
)


def ensure(session: Session, *, window: str, limit: int) -> None:
    """The window's places exist (a larger limit adds some; a smaller one ignores the rest)."""
    session.connection().execute(ENSURE, {"window": window, "limit": limit})


def take(session: Session, *, window: str, limit: int, lease: float) -> tuple[int | None, float]:
    """A free place, held for at most `lease` seconds (a process that dies
    holding it gives it back that way); else None and the seconds until the
    soonest one frees."""
    connection = session.connection()
    taken = connection.execute(TAKE, {"window": window, "limit": limit, "lease": lease}).scalar()
    if taken is not None:
        return taken, 0.0
    return None, float(connection.execute(SOONEST, {"window": window, "limit": limit}).scalar() or 0.0)


def give_back(session: Session, *, window: str, place: int, period: float) -> None:
    """The call that held `place` has its answer: the place frees `period`
    seconds from now (less when the call arrived well before its answer)."""
    session.connection().execute(GIVE_BACK, {"window": window, "place": place, "period": period})
