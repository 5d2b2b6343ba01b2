"""The village officers' list: `python -m bot import-officers FILE` (CSV or
XLSX: nik, nama, tanggal_lahir, jabatan, desa, kecamatan, telepon), checked
like the roster. An officer is matched by NIK; importing again updates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.ops.authority import Actor
from bot.ops.roster import ImportReport, RowNote, cell_text, identity, open_roster
from handlers.parse import Invalid, parse_phone
from storage.db import Database
from storage.officers import known_officers, place_key, roster_places, upsert_officers
from storage.privacy import IdentityHasher, mask_nik

REQUIRED = ("nik", "nama", "tanggal_lahir", "jabatan", "desa", "kecamatan", "telepon")


def validate_officer(hasher: IdentityHasher, raw: dict[str, Any]) -> dict[str, Any] | str:
    """An officer's columns, or why the row is rejected."""
    checked = identity(raw)
    if isinstance(checked, str):
        return checked
    nik, born = checked
    name, position, village, district = (cell_text(raw.get(key)) for key in ("nama", "jabatan", "desa", "kecamatan"))
    if not (name and position and village and district):
        return "nama, jabatan, desa and kecamatan must not be empty"
    phone = parse_phone(cell_text(raw.get("telepon")))
    if isinstance(phone, Invalid):
        return "telepon must be a valid Indonesian number (it proves the officer's chat)"
    nik_hash = hasher.nik_hash(nik.digits)
    return {
        "nik_hash": nik_hash,
        "nik_masked": mask_nik(nik.digits),
        "birth_hash": hasher.birth_hash(nik_hash, born),
        "name": name[:200],
        "position": position[:120],
        "village": village[:120],
        "district": district[:120],
        "phone": phone,
    }


def import_officers(path: Path, *, actor: Actor, db: Database, hasher: IdentityHasher, now: datetime) -> ImportReport:
    """Validate every row, then write the good ones in one transaction (a
    regency has a few thousand officers); a NIK twice in the file is rejected."""
    actor.require("manage")
    table = open_roster(path, REQUIRED)
    report, good, seen, rows_of = ImportReport(), [], set(), []
    for number, raw in table.records():
        report.rows += 1
        checked = validate_officer(hasher, raw)
        if isinstance(checked, dict) and checked["nik_hash"] in seen:
            checked = "this NIK appears earlier in the file"
        if isinstance(checked, str):
            report.rejected.append(RowNote(number, checked))
            continue
        seen.add(checked["nik_hash"])
        good.append(checked)
        rows_of.append(number)
    with db.transaction() as session:
        places = roster_places(session)
        for number, officer in zip(rows_of, good, strict=True):
            spelled = places.get((place_key(officer["village"]), place_key(officer["district"])))
            if spelled is None:
                # Linked, this officer would see no residents and no reports.
                note = f"desa {officer['village']}, kecamatan {officer['district']} has no residents in the roster"
                report.warnings.append(RowNote(number, note))
            else:
                officer["village"], officer["district"] = spelled
            report.by_district[officer["district"]] += 1
        known = known_officers(session, nik_hashes=list(seen))
        upsert_officers(session, good, now=now)
    report.counts.updated, report.counts.inserted = len(known), len(good) - len(known)
    return report
