"""Importing the regency's roster (CSV or XLSX) into participants.

Every row is validated; a bad row is reported with its row number and reason
and the import goes on. Good rows are upserted in batches, one transaction a
batch, so a re-import of the same file changes nothing and a new period moves
only what moved. The file's header is checked before anything is written."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

from bot.ops.authority import Actor
from handlers.parse import Invalid, Nik, nik_digits, parse_date, parse_nik, parse_phone
from storage import renewal
from storage.db import Database
from storage.errors import PlainError
from storage.imports import import_finished, import_started
from storage.participants import (
    UpsertCounts,
    count_participants,
    insert_new,
    new_rows,
    upsert_participants,
    with_lookup_indexes,
    without_lookup_indexes,
)
from storage.privacy import IdentityHasher, mask_nik

REQUIRED = ("nik", "nama", "tanggal_lahir", "jenis_kelamin", "desa", "kecamatan", "kategori", "mulai", "berakhir")
OPTIONAL = ("no_kpj", "telepon")
CATEGORY_SEPARATORS = re.compile(r"[\s/\-]+")  # "RT/RW", "guru ngaji"
CATEGORIES = ("kepala_desa", "perangkat_desa", "bpd", "linmas", "guru_ngaji", "rt_rw", "petani_sawit", "lainnya")


# A roster of a million people unpacks to a few hundred MB; a cell is a name, a village, a date.
MAX_XLSX_UNPACKED = 512 * 2**20
MAX_CELL = 1000
RENEWAL_NEWS_KEEPS = timedelta(days=14)  # a renewal not told within two weeks is not told late


class RosterError(PlainError):
    """The file as a whole cannot be imported; nothing was written."""


@dataclass(frozen=True)
class RowNote:
    row: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rejected: list[RowNote] = field(default_factory=list)
    warnings: list[RowNote] = field(default_factory=list)
    by_category: Counter[str] = field(default_factory=Counter)
    by_district: Counter[str] = field(default_factory=Counter)
    told: int = 0  # chats that will hear their person's cover was renewed

    def merge(self, other: ImportReport) -> None:
        self.rows += other.rows
        self.told += other.told
        self.counts.add(other.counts)
        self.rejected += other.rejected
        self.warnings += other.warnings
        self.by_category.update(other.by_category)
        self.by_district.update(other.by_district)

    def sorted(self) -> ImportReport:
        """Notes in file order, whichever process found them."""
        self.rejected.sort(key=lambda note: note.row)
        self.warnings.sort(key=lambda note: note.row)
        return self


@dataclass(frozen=True)
class CellChunk:
    """Rows of a spreadsheet, their cells as openpyxl read them."""

    numbers: list[int]  # each row's number in the file
    cells: list[list[Any]]

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return zip(self.numbers, self.cells, strict=True)


@dataclass(frozen=True)
class CsvChunk:
    """Rows of a CSV file as the file has them. They cross to a worker as
    one text, which it parses again: unpickling eleven strings a row cost
    the worker five times what parsing them does."""

    numbers: list[int]
    text: str
    delimiter: str

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return zip(self.numbers, csv.reader(io.StringIO(self.text), csv.excel, delimiter=self.delimiter), strict=True)


Chunk = CellChunk | CsvChunk


@dataclass
class RosterFile:
    total: int  # data rows, for the progress bar
    header: list[str]  # column names, lower case
    # (row number in the file, cells in the header's order, the row as a chunk takes it)
    rows: Iterator[tuple[int, list[Any], Any]]
    chunk: Callable[[list[int], list[Any]], Chunk]  # rows' numbers and sources, as a chunk
    name: str = ""  # the file's, as recorded with the import

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """The rows as cells by column."""
        for number, cells, _ in self.rows:
            yield number, by_column(self.header, cells)


def by_column(header: list[str], cells: list[Any]) -> dict[str, Any]:
    return dict(zip(header, cells, strict=False))


def open_roster(path: Path, required: tuple[str, ...] = REQUIRED) -> RosterFile:
    """A CSV or XLSX list with a header row holding the `required` columns
    (the roster's by default; the officers' list has its own)."""
    if not path.is_file():
        raise RosterError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _open_csv(path, required)
    if suffix == ".xlsx":
        return _open_xlsx(path, required)
    raise RosterError(f"{path}: not a roster file; use CSV (.csv) or Excel (.xlsx)")


def _check_header(path: Path, header: list[str], required: tuple[str, ...]) -> list[str]:
    names = [str(cell or "").strip().lower() for cell in header]
    if not any(names):
        raise RosterError(f"{path}: the file is empty")
    missing = [name for name in required if name not in names]
    if missing:
        raise RosterError(f"{path}: missing columns: {', '.join(missing)} (needed: {', '.join(required)})")
    return names


def _open_csv(path: Path, required: tuple[str, ...]) -> RosterFile:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            sample = file.read(64 * 1024)
            total = sum(1 for _ in file) + sample.count("\n") - 1
    except UnicodeDecodeError:
        raise RosterError(f"{path}: not a text CSV file (save it as CSV UTF-8)") from None
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # Only the delimiter is guessed: quoting is the standard one, quotes doubled
    # ("Joko ""Jek"" Rekaan"), which the sniffer gets wrong from a header line.
    file = path.open(encoding="utf-8-sig", newline="")
    read: list[str] = []  # the lines the reader took for the row it gives

    def lines() -> Iterator[str]:
        for line in file:
            read.append(line)
            yield line

    reader = csv.reader(lines(), csv.excel, delimiter=delimiter)
    header = _check_header(path, next(reader, []), required)
    if total < 1:
        file.close()
        raise RosterError(f"{path}: the file has a header but no rows")

    def rows() -> Iterator[tuple[int, list[Any], str]]:
        with file:
            try:
                for number, cells in enumerate(reader, start=2):
                    text = "".join(read)
                    read.clear()
                    # No cell is longer than its row: the cells are looked at only in a long row.
                    if len(text) > MAX_CELL:
                        too_long(path, number, header, cells)
                    if any(cells):
                        yield number, cells, text
            except csv.Error as error:  # a field over the csv module's 128 KB limit
                raise RosterError(f"{path}: line {reader.line_num}: cannot be read ({error})") from None

    def chunk(numbers: list[int], texts: list[str]) -> CsvChunk:
        return CsvChunk(numbers, "".join(texts), delimiter)

    read.clear()
    return RosterFile(total, header, rows(), chunk, path.name)


def too_long(path: Path, number: int, header: list[str], cells: list[Any]) -> None:
    """No name or village runs to pages: a row with such a cell stops the import."""
    for column, value in zip(header, cells, strict=False):
        if isinstance(value, str) and len(value) > MAX_CELL:
            raise RosterError(
                f"{path}: row {number}, column {column}: over {MAX_CELL:,} characters; is this the roster?"
            )


def _open_xlsx(path: Path, required: tuple[str, ...]) -> RosterFile:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise RosterError(f"{path}: not a readable Excel file ({exc})") from None
    if unpacked > MAX_XLSX_UNPACKED:
        # A small file that unpacks to gigabytes (a zip bomb) is refused before it is opened.
        most = f"{MAX_XLSX_UNPACKED / 2**20:,.0f} MB"
        raise RosterError(f"{path}: unpacks to {unpacked / 2**20:,.0f} MB, over the {most} a roster needs")
    import openpyxl  # only for Excel files: 13 MiB

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise RosterError(f"{path}: not a readable Excel file ({exc})") from None
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    header = _check_header(path, list(next(cells, ()) or ()), required)
    total = (sheet.max_row or 1) - 1
    if total < 1:
        book.close()
        raise RosterError(f"{path}: the file has a header but no rows")

    def rows() -> Iterator[tuple[int, list[Any], list[Any]]]:
        try:
            for number, values in enumerate(cells, start=2):
                if any(value not in (None, "") for value in values):
                    too_long(path, number, header, values)
                    row = list(values)
                    yield number, row, row
        finally:
            book.close()

    return RosterFile(total, header, rows(), CellChunk, path.name)


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


@lru_cache(maxsize=2**14)  # a roster's dates repeat: a birthday per few dozen people, a cover for all
def _date(value: Any) -> date | Invalid:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        # A roster's dates are mostly ISO: read those directly, three per row
        # times a million, before the parser that understands people's typing.
        with contextlib.suppress(ValueError):
            return date.fromisoformat(value)
    return parse_date(cell_text(value))


@lru_cache(maxsize=256)  # a handful of categories, however they are written
def _category(value: Any) -> str:
    return CATEGORY_SEPARATORS.sub("_", cell_text(value).lower())


Validated = tuple[dict[str, Any] | None, str | None, str | None]


def identity(raw: dict[str, Any]) -> tuple[Nik, date] | str:
    """A row's NIK and birth date, checked against each other, or why not."""
    if isinstance(raw.get("nik"), int | float):
        return "NIK is stored as a number in Excel, which corrupts 16-digit numbers; format the column as text"
    nik = parse_nik(cell_text(raw.get("nik")))
    if isinstance(nik, Invalid):
        return f"invalid NIK ({nik.reason.replace('_', ' ')})"
    born = _date(raw.get("tanggal_lahir"))
    if isinstance(born, Invalid):
        return f"invalid tanggal_lahir ({born.reason.replace('_', ' ')})"
    if not nik.matches_birth_date(born):
        return "tanggal_lahir does not match the birth date in the NIK"
    return nik, born


def validate_row(hasher: IdentityHasher, raw: dict[str, Any]) -> Validated:
    """(participant columns or None, rejection reason, warning)."""
    checked = identity(raw)
    if isinstance(checked, str):
        return None, checked, None
    nik, born = checked
    gender = cell_text(raw.get("jenis_kelamin"))[:1].upper()
    if gender not in ("L", "P"):
        return None, "jenis_kelamin must be L or P", None
    if (gender == "P") != nik.female:
        return None, "jenis_kelamin does not match the NIK (women have 40 added to the day)", None
    category = _category(raw.get("kategori"))
    if category not in CATEGORIES:
        return None, f"unknown kategori '{category}' (known: {', '.join(CATEGORIES)})", None
    start, end = _date(raw.get("mulai")), _date(raw.get("berakhir"))
    if isinstance(start, Invalid) or isinstance(end, Invalid):
        return None, "mulai and berakhir must be dates (YYYY-MM-DD or DD/MM/YYYY)", None
    if start >= end:
        return None, "mulai must be before berakhir", None
    name, village, district = cell_text(raw.get("nama")), cell_text(raw.get("desa")), cell_text(raw.get("kecamatan"))
    if not (name and village and district):
        return None, "nama, desa and kecamatan must not be empty", None
    warning, phone = None, None
    if typed_phone := cell_text(raw.get("telepon")):
        phone = parse_phone(typed_phone)
        if isinstance(phone, Invalid):
            # A bad phone must not cost a worker their cover lookup.
            warning, phone = "telepon is not a valid Indonesian number; imported without it", None
    nik_hash = hasher.nik_hash(nik.digits)
    row = {
        "nik_hash": nik_hash,
        "nik_masked": mask_nik(nik.digits),
        "birth_hash": hasher.birth_hash(nik_hash, born),
        "name": name[:200],
        "gender": gender,
        "village": village[:120],
        "district": district[:120],
        "category": category,
        "kpj": cell_text(raw.get("no_kpj"))[:32] or None,
        "phone": phone,
        "cover_start": start,
        "cover_end": end,
    }
    return row, None, warning


@dataclass(frozen=True)
class Validation:
    """What a worker needs besides the rows: the key, the file's columns,
    and for an empty roster the driver and moment to ready new rows for."""

    hasher: IdentityHasher
    header: list[str]
    new_for: tuple[str, datetime] | None = None


def validate_chunk(how: Validation, chunk: Chunk) -> tuple[list[Any], ImportReport]:
    """The chunk's good rows, and what was wrong with the others. Pure CPU
    work with no database, so it runs in worker processes. Into an empty
    roster the rows leave ready for the driver (new_rows), so the one
    process that writes them, and reads the file, does no more than it must."""
    report = ImportReport(rows=len(chunk.numbers))
    good = []
    for number, cells in chunk.rows():
        row, reason, warning = validate_row(how.hasher, by_column(how.header, cells))
        if warning:
            report.warnings.append(RowNote(number, warning))
        if row is None:
            report.rejected.append(RowNote(number, reason))
            continue
        report.by_category[row["category"]] += 1
        report.by_district[row["district"]] += 1
        good.append(row)
    if how.new_for:
        drivername, now = how.new_for
        return new_rows(drivername, good, now=now), report
    return good, report


def _chunks(roster: RosterFile, size: int, report: ImportReport) -> Iterator[Chunk]:
    """Chunks of rows, without NIKs seen earlier in the file: those are
    rejected here, where the whole file passes, so chunks can be written in
    any order by any process."""
    # A NIK's 16 digits as a number: 32 bytes a key rather than a string's
    # 65, a third of this map's memory (about 130 MiB for a million rows).
    first_seen: dict[int | str, int] = {}
    numbers: list[int] = []
    sources: list[Any] = []
    at = roster.header.index("nik")
    for number, cells, source in roster.rows:
        digits = nik_digits(cell_text(cells[at] if at < len(cells) else None))
        key = int(digits) if len(digits) == 16 and digits.isascii() and digits.isdigit() else digits
        if digits and key in first_seen:
            report.rows += 1
            report.rejected.append(RowNote(number, f"duplicate NIK (first at row {first_seen[key]})"))
            continue
        if digits:
            first_seen[key] = number
        numbers.append(number)
        sources.append(source)
        if len(numbers) >= size:
            yield roster.chunk(numbers, sources)
            numbers, sources = [], []
    if numbers:
        yield roster.chunk(numbers, sources)


def import_roster(
    roster: RosterFile,
    *,
    actor: Actor,
    db: Database,
    hasher: IdentityHasher,
    now: datetime,
    batch_size: int,
    workers: int = 1,
    progress: Callable[[int], None] = lambda advanced: None,
) -> ImportReport:
    """Validation is CPU work (NIKs, dates, phone numbers, hashes), so with
    workers > 1 worker processes validate chunks while this process reads the
    file and writes the validated chunks, one transaction each. One writer
    means no process waits on another's database lock (SQLite has one writer
    anyway), and at most a few chunks are in flight, so memory stays flat on
    huge files."""
    actor.require("manage")
    report = ImportReport()
    with db.transaction() as session:
        # Repeated NIKs in the file are rejected before chunking, so into an
        # empty roster every chunk is all new: no lookups, no updates.
        into_empty = count_participants(session) == 0
        if into_empty:
            without_lookup_indexes(session)  # built once, after the load
        import_id = import_started(session, file_name=roster.name, actor=actor.name, now=now)

    def write(good: list[Any], part: ImportReport) -> None:
        if good:
            with db.transaction() as session:
                if into_empty:
                    part.counts.inserted = insert_new(session, good)
                else:
                    part.counts = upsert_participants(session, good, now=now)
                    # A cover that now ends later is a renewal: its followers hear of it, once.
                    part.told = renewal.plan_renewals(
                        session, participant_ids=part.counts.extended, now=now, stale_at=now + RENEWAL_NEWS_KEEPS
                    )
        report.merge(part)
        progress(part.rows)

    how = Validation(hasher, roster.header, (db.engine.url.drivername, now) if into_empty else None)
    chunks = _chunks(roster, batch_size, report)
    if workers <= 1:
        for chunk in chunks:
            write(*validate_chunk(how, chunk))
    else:
        with ProcessPoolExecutor(workers) as pool:
            pending: deque = deque()
            for chunk in chunks:
                pending.append(pool.submit(validate_chunk, how, chunk))
                if len(pending) > 2 * workers:
                    write(*pending.popleft().result())
            while pending:
                write(*pending.popleft().result())
    with db.transaction() as session:
        with_lookup_indexes(session)
        import_finished(session, import_id=import_id, rows=report.rows, now=now)
    return report.sorted()


COLUMNS = (*REQUIRED, *OPTIONAL)


def write_roster_csv(file: TextIO, rows: Iterable[dict[str, Any]]) -> None:
    """A roster in the import format: what demo-roster writes and tests read."""
    writer = csv.DictWriter(file, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
