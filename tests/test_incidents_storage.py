"""Incident reports in storage, on SQLite and on PostgreSQL: reference
numbers under concurrency, status history, and what an operator may set."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from storage import incidents
from storage.chats import open_chat
from storage.media import Media
from tests.conftest import FROZEN_NOW

REPORTS = 120


def fields(number: int) -> dict:
    return {
        "affected": "other",
        "relation": "family",
        "participant_id": None,
        "nik_hash": f"{number:064x}",
        "nik_masked": "1603********0001",
        "name": f"Warga {number}",
        "kind": "work_accident",
        "occurred_on": date(2026, 11, 20),
        "covered": None,
        "place": "Kebun",
        "latitude": None,
        "longitude": None,
        "chronology": "Jatuh dari pohon saat memanen.",
        "phone": "+6281234567890",
    }


def test_concurrent_reports_from_many_chats_never_share_a_reference(any_db_app):
    app = any_db_app
    with app.db.transaction() as session:
        chats = [
            open_chat(session, channel="console", chat_id=f"c{n}", language="id", now=FROZEN_NOW)[0]
            for n in range(REPORTS)
        ]

    def file(number: int) -> str:
        with app.db.transaction() as session:
            return incidents.file_incident(
                session, reporter=chats[number], fields=fields(number), files=[], now=FROZEN_NOW, year=2026
            )

    with ThreadPoolExecutor(max_workers=12) as pool:
        references = list(pool.map(file, range(REPORTS)))
    assert sorted(references) == [f"LK-2026-{n:06d}" for n in range(1, REPORTS + 1)]
    with app.db.transaction() as session:
        next_year = incidents.next_reference(session, year=2027)
    assert next_year == "LK-2027-000001"  # numbered afresh each year


def test_status_changes_are_recorded_with_who_and_why(any_db_app):
    app = any_db_app
    with app.db.transaction() as session:
        chat, _ = open_chat(session, channel="console", chat_id="c", language="id", now=FROZEN_NOW)
        reference = incidents.file_incident(
            session,
            reporter=chat,
            fields=fields(1),
            files=[Media(path="/m/a.jpg", sha256="a" * 64, mime_type="image/jpeg", size=10)],
            now=FROZEN_NOW,
            year=2026,
        )
    with app.db.transaction() as session:
        with pytest.raises(incidents.StatusError, match="needs a reason"):
            incidents.set_status(
                session, reference=reference, status="ditolak", note=" ", actor="cli:op", now=FROZEN_NOW
            )
        with pytest.raises(incidents.StatusError, match="unknown status"):
            incidents.set_status(
                session, reference=reference, status="hilang", note=None, actor="cli:op", now=FROZEN_NOW
            )
        assert (
            incidents.set_status(
                session, reference="LK-2026-999999", status="selesai", note=None, actor="x", now=FROZEN_NOW
            )
            is None
        )
        changed = incidents.set_status(
            session, reference=reference.lower(), status="ditolak", note="bukan peserta", actor="cli:op", now=FROZEN_NOW
        )
        history = incidents.history(session, incident_id=changed.id)
        files = incidents.attachments(session, incident_id=changed.id)
    assert changed.status == "ditolak"
    assert [(c.status, c.note, c.actor) for c in history] == [
        ("diterima", None, "reporter"),
        ("ditolak", "bukan peserta", "cli:op"),
    ]
    assert files == [Media(path="/m/a.jpg", sha256="a" * 64, mime_type="image/jpeg", size=10)]
