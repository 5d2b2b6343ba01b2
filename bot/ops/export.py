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

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlmodel import Session

from bot.ops.authority import Actor
from bot.ops.reports import list_reports
from storage import incidents
from storage.incidents import Report
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
)


def row(report: Report, captions: list[str], zone: ZoneInfo) -> list:
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
    ]


@dataclass(frozen=True)
class Filed:
    """Reports filed from `since` to `until` (local days, both included),
    of one status if given."""

    since: date | None = None
    until: date | None = None
    status: str | None = None


def export_incidents(
    session: Session, *, actor: Actor, path: Path, format: Format, zone: ZoneInfo, filed: Filed
) -> int:
    """The reports the actor may see, filed as asked, oldest first, written to `path`; how many."""
    found = list_reports(
        session,
        actor=actor,
        status=filed.status,
        since=filed.since and local_midnight(filed.since, zone),
        until=filed.until and local_midnight(filed.until + timedelta(days=1), zone),
    )
    captions = incidents.attachment_captions(session)
    return write(path, (row(report, captions.get(report.id, []), zone) for report in reversed(found)), format)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


# What makes a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A value as a spreadsheet must hold it: text people typed can start no
    formula, holds no character a worksheet refuses, and shows no NIK."""
    if not isinstance(value, str):
        return value
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
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("laporan")
    sheet.append(COLUMNS)
    for values in rows:
        sheet.append([safe_cell(value) for value in values])
        count += 1
    book.save(path)
    return count
