"""Roster imports as they start and finish, so one stopped halfway is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlmodel import Session

from storage.tables import IMPORTS


@dataclass(frozen=True)
class Unfinished:
    file_name: str
    actor: str
    started_at: datetime


def import_started(session: Session, *, file_name: str, actor: str, now: datetime) -> int:
    row = {"file_name": file_name[:255], "actor": actor[:120], "started_at": now}
    return session.connection().execute(insert(IMPORTS).values(**row).returning(IMPORTS.c.id)).scalar_one()


def import_finished(session: Session, *, import_id: int, rows: int, now: datetime) -> None:
    session.connection().execute(update(IMPORTS).where(IMPORTS.c.id == import_id).values(finished_at=now, rows=rows))


def unfinished_import(session: Session) -> Unfinished | None:
    """The latest import, if it never finished: the roster may be part old, part new."""
    statement = select(IMPORTS).order_by(IMPORTS.c.id.desc()).limit(1)
    latest = session.connection().execute(statement).first()
    if latest is None or latest.finished_at is not None:
        return None
    return Unfinished(latest.file_name, latest.actor, latest.started_at)
