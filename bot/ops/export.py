"""Incident reports as a spreadsheet for BPJS staff: one row per report, one
column per field, CSV (UTF-8 with a byte-order mark, so Excel reads the
accents) or XLSX."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.ops.authority import Actor
from storage import incidents
from storage.incidents import Queue, Report
from storage.privacy import mask_niks

Format = Literal["csv", "xlsx"]

COLUMNS = (
    "reference",
    "filed_at",
    "status",
    "status_changed_at",
    "kind",
    "occurred_on",
    "affected",
    "reporter_relation",
    "name",
    "nik_masked",
    "in_roster",
    "covered_on_date",
    "district",
    "village",
    "place",
    "latitude",
    "longitude",
    "chronology",
    "phone",
    "reporter_channel",
    "attachments",
    "attachment_captions",
    "kpj",
    "documents_ticked",
    "notes",
    "filed_by_officer",
)


def row(report: Report, captions: list[str], claim: incidents.ClaimColumns, zone: ZoneInfo) -> list:
    def local(moment):
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    in_roster = report.covered is not None
    return [
        report.reference,
        local(report.created_at),
        report.status,
        local(report.updated_at),
        report.kind,
        report.occurred_on.isoformat(),
        report.affected,
        report.relation or "",
        report.name,
        report.nik_masked,
        "ya" if in_roster else "tidak",
        "" if not in_roster else "ya" if report.covered else "tidak",
        report.district or "",
        report.village or "",
        report.place,
        report.latitude,
        report.longitude,
        report.chronology,
        report.phone,
        report.reporter_channel,
        len(captions),
        " | ".join(caption for caption in captions if caption),
        claim.kpj,
        " | ".join(claim.ticked),
        " | ".join(claim.notes),
        claim.filed_by_officer,
    ]


@dataclass(frozen=True)
class Filed:
    """Reports filed from `since` to `until` (local days, both included),
    and of one status, kind or kecamatan, or with a number holding
    `reference`, where given."""

    since: date | None = None
    until: date | None = None
    status: str | None = None
    kind: str | None = None
    district: str | None = None
    reference: str | None = None

    def queue(self, zone: ZoneInfo) -> Queue:
        return Queue(
            status=self.status,
            kind=self.kind,
            district=self.district,
            since=self.since and local_midnight(self.since, zone),
            until=self.until and local_midnight(self.until + timedelta(days=1), zone),
            reference=self.reference,
        )


def export_incidents(
    session: Session, *, actor: Actor, path: Path, format: Format, zone: ZoneInfo, filed: Filed
) -> int:
    """The reports the actor may see, filed as asked, oldest first, written to `path`; how many."""
    found, _ = incidents.queue(session, filters=filed.queue(zone), districts=actor.districts, open_first=False)
    captions = incidents.attachment_captions(session)
    claims = incidents.claim_columns(session)
    rows = (
        row(report, captions.get(report.id, []), claims.get(report.id, incidents.ClaimColumns()), zone)
        for report in found
    )
    return write(path, rows, format)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


# What makes a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A value as a spreadsheet must hold it: text people typed can start no
    formula, holds no character a worksheet refuses, and shows no NIK."""
    if not isinstance(value, str):
        return value
    # Loaded here, on the first export: openpyxl is 13 MiB the running bot otherwise never needs.
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = mask_niks(ILLEGAL_CHARACTERS_RE.sub("", value))
    return f"'{text}" if text.startswith(FORMULA_START) else text


def write(path: Path, rows: Iterable[list], format: Format) -> int:
    """Write the header and the rows, every cell made safe; how many rows."""
    count = 0
    if format == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(COLUMNS)
            for values in rows:
                writer.writerow(["" if value is None else safe_cell(value) for value in values])
                count += 1
        return count
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("laporan")
    sheet.append(COLUMNS)
    for values in rows:
        sheet.append([safe_cell(value) for value in values])
        count += 1
    book.save(path)
    return count
