"""The review status of WhatsApp message templates at Meta, as last read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from storage.db import insert_for
from storage.tables import TEMPLATES


def record(session: Session, found: Iterable[tuple[str, str, str, str | None]], *, now: datetime) -> None:
    """(name, language, status, Meta's id) of templates, as just read."""
    rows = [
        {"name": name, "language": language, "status": status, "template_id": template_id, "checked_at": now}
        for name, language, status, template_id in found
    ]
    if not rows:
        return
    insert = insert_for(session, TEMPLATES)
    statement = insert.on_conflict_do_update(
        index_elements=["name", "language"],
        set_={"status": insert.excluded.status, "template_id": insert.excluded.template_id, "checked_at": now},
    )
    session.connection().execute(statement, rows)


def statuses(session: Session) -> dict[tuple[str, str], str]:
    """(name, language) -> status."""
    found = session.connection().execute(select(TEMPLATES.c.name, TEMPLATES.c.language, TEMPLATES.c.status))
    return {(name, language): status for name, language, status in found}
