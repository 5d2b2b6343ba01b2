"""Roster import: what operators feed it and what they get back."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest

from bot.demo_roster import DEMO_SIZE, demo_people, write_demo_roster
from bot.ops.roster import COLUMNS, RosterError, import_roster, open_roster
from storage.db import Database
from storage.participants import count_participants, find_participant
from storage.privacy import IdentityHasher
from tests.conftest import ADMIN, BUDI, FROZEN_NOW, SITI, person, write_csv

HASHER = IdentityHasher(b"k" * 32)


def run(path, db, *, workers=1, batch_size=100, now=FROZEN_NOW):
    return import_roster(
        open_roster(path), actor=ADMIN, db=db, hasher=HASHER, now=now, batch_size=batch_size, workers=workers
    )


@pytest.fixture
def db(database_url):
    db = Database(database_url)
    db.upgrade()
    yield db
    db.dispose()


def stored(db) -> int:
    with db.transaction() as session:
        return count_participants(session)


def test_good_rows_are_imported_with_counts(tmp_path, db):
    report = run(write_csv(tmp_path / "r.csv", [BUDI, SITI]), db)
    assert (report.rows, report.counts.inserted, report.rejected) == (2, 2, [])
    assert report.by_category == {"perangkat_desa": 1, "guru_ngaji": 1}
    assert report.by_district == {"Lubai": 1, "Gelumbang": 1}
    with db.transaction() as session:
        budi = find_participant(session, nik_hash=HASHER.nik_hash("1603010503800001"))
        assert (budi.phone, budi.nik_masked, budi.cover_end) == (
            "+6281234567890",
            "1603********0001",
            date(2026, 12, 31),
        )


BAD_ROWS = [
    (person(nik="12345"), "invalid NIK (length)"),
    (person(nik="1603013202800001"), "invalid NIK (birth part)"),
    (person(tanggal_lahir="1980-03-06"), "does not match the birth date in the NIK"),
    (person(tanggal_lahir="31/02/1980"), "invalid tanggal_lahir (impossible)"),
    (person(jenis_kelamin="P"), "jenis_kelamin does not match the NIK"),
    (person(jenis_kelamin="X"), "jenis_kelamin must be L or P"),
    (person(kategori="bupati"), "unknown kategori 'bupati'"),
    (person(mulai="2026-12-31", berakhir="2026-10-01"), "mulai must be before berakhir"),
    (person(berakhir="akhir tahun"), "mulai and berakhir must be dates"),
    (person(nama=" "), "nama, desa and kecamatan must not be empty"),
]


@pytest.mark.parametrize(("row", "reason"), BAD_ROWS, ids=[reason for _, reason in BAD_ROWS])
def test_a_bad_row_is_reported_with_its_number_and_the_rest_imported(tmp_path, db, row, reason):
    report = run(write_csv(tmp_path / "r.csv", [SITI, row]), db)
    assert [(note.row, reason in note.reason) for note in report.rejected] == [(3, True)]
    assert report.counts.inserted == 1 and stored(db) == 1


def test_a_repeated_nik_is_rejected_pointing_at_the_first(tmp_path, db):
    report = run(write_csv(tmp_path / "r.csv", [BUDI, SITI, person(nik="1603 0105 0380 0001")]), db)
    assert [(n.row, n.reason) for n in report.rejected] == [(4, "duplicate NIK (first at row 2)")]


def test_a_bad_phone_warns_but_keeps_the_worker_findable(tmp_path, db):
    report = run(write_csv(tmp_path / "r.csv", [person(telepon="12")]), db)
    assert report.counts.inserted == 1 and report.rejected == []
    assert [(n.row, "telepon" in n.reason) for n in report.warnings] == [(2, True)]


def test_semicolon_csv_with_day_first_dates_and_blank_lines(tmp_path, db):
    header = ";".join(COLUMNS).upper()
    line = "1603010503800001;Budi;05/03/1980;L;Desa;Kec;Perangkat Desa;01/10/2026;31/12/2026;;"
    (tmp_path / "r.csv").write_text(f"\ufeff{header}\n{line}\n\n", encoding="utf-8")
    report = run(tmp_path / "r.csv", db)
    assert (report.counts.inserted, report.rejected) == (1, [])


def test_xlsx_with_date_cells(tmp_path, db):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    values = dict(BUDI, tanggal_lahir=datetime(1980, 3, 5), mulai=datetime(2026, 10, 1), berakhir=date(2026, 12, 31))
    sheet.append([values[c] for c in COLUMNS])
    sheet.append([dict(SITI, nik=1603024512850002)[c] for c in COLUMNS])  # typed as a number
    book.save(tmp_path / "r.xlsx")
    report = run(tmp_path / "r.xlsx", db)
    assert report.counts.inserted == 1
    assert [(n.row, "stored as a number" in n.reason) for n in report.rejected] == [(3, True)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.txt", "nik\n", "not a roster file; use CSV"),
        ("r.csv", "", "the file is empty"),
        ("r.csv", ",".join(COLUMNS) + "\n", "has a header but no rows"),
        ("r.csv", "nik,nama\n1603010503800001,Budi\n", "missing columns: tanggal_lahir, jenis_kelamin"),
        ("r.xlsx", "this is no zip", "not a readable Excel file"),
    ],
)
def test_a_file_that_cannot_be_a_roster_changes_nothing(tmp_path, db, name, content, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(RosterError, match=message):
        run(tmp_path / name, db)
    assert stored(db) == 0


def test_a_csv_in_another_encoding_is_refused_clearly(tmp_path, db):
    (tmp_path / "r.csv").write_bytes(",".join(COLUMNS).encode() + b"\n\xff\xfe\n")
    with pytest.raises(RosterError, match="save it as CSV UTF-8"):
        run(tmp_path / "r.csv", db)


def test_a_missing_file(tmp_path, db):
    with pytest.raises(RosterError, match="no such file"):
        run(tmp_path / "nope.csv", db)


def test_reimport_changes_nothing_and_a_new_period_updates(tmp_path, db):
    path = write_csv(tmp_path / "r.csv", [BUDI, SITI])
    run(path, db)
    again = run(path, db)
    assert (again.counts.inserted, again.counts.updated, again.counts.unchanged) == (0, 0, 2)
    next_period = write_csv(tmp_path / "r2.csv", [person(mulai="2027-01-01", berakhir="2027-03-31"), SITI])
    moved = run(next_period, db)
    assert (moved.counts.inserted, moved.counts.updated, moved.counts.unchanged) == (0, 1, 1)
    with db.transaction() as session:
        assert find_participant(session, nik_hash=HASHER.nik_hash("1603010503800001")).cover_end == date(2027, 3, 31)


def write_xlsx(path, rows):
    book = openpyxl.Workbook()
    book.active.append(list(COLUMNS))
    for row in rows:
        book.active.append([row[column] for column in COLUMNS])
    book.save(path)
    return path


@pytest.mark.parametrize("write", [write_csv, write_xlsx], ids=["csv", "xlsx"])
def test_worker_processes_import_the_same_as_one(tmp_path, db, write):
    """CSV rows cross to the workers as text, a spreadsheet's as cells."""
    rows = list(demo_people(year=2026, districts=["A", "B", "C"], regency_code="1603", rows=1000))
    rows.insert(500, dict(rows[10]))  # a repeat in a later chunk
    rows.insert(700, person(nik="1"))
    report = run(write(tmp_path / f"r.{write.__name__.removeprefix('write_')}", rows), db, workers=2, batch_size=128)
    assert report.rows == 1002 and report.counts.inserted == 1000 and stored(db) == 1000
    assert [(n.row, n.reason.split(" (")[0]) for n in report.rejected] == [(502, "duplicate NIK"), (702, "invalid NIK")]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_name_over_two_lines_and_a_blank_row_keep_the_rows_numbered_as_excel_shows_them(tmp_path, db, workers):
    """Excel writes a cell with a line break as a quoted field over two lines,
    and CRLF line ends; workers get the rows as text, so they must number
    rows, not lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # CRLF, quotes where needed, as Excel does
    writer.writerow(COLUMNS)
    writer.writerow([person(nama='Joko\n"Jek" Rekaan')[column] for column in COLUMNS])
    writer.writerow([""] * len(COLUMNS))
    writer.writerow([SITI[column] for column in COLUMNS])
    writer.writerow([person(nik="12345")[column] for column in COLUMNS])
    (tmp_path / "r.csv").write_text(buffer.getvalue(), encoding="utf-8", newline="")
    report = run(tmp_path / "r.csv", db, workers=workers, batch_size=1)
    assert [(n.row, n.reason) for n in report.rejected] == [(5, "invalid NIK (length)")]
    with db.transaction() as session:
        joko = find_participant(session, nik_hash=HASHER.nik_hash("1603010503800001"))
        assert joko.name == 'Joko "Jek" Rekaan'


def test_the_demo_roster_is_muara_enims_shape_and_imports_cleanly(tmp_path, db):
    samples = write_demo_roster(tmp_path / "demo.csv", year=2026, districts=["Lubai", "Lembak"], regency_code="1603")
    report = run(tmp_path / "demo.csv", db, batch_size=5000)
    assert report.rows == DEMO_SIZE == 26_775 and report.rejected == []
    assert report.by_category["petani_sawit"] == 2_124
    assert sum(report.by_category.values()) - report.by_category["petani_sawit"] == 24_651
    assert set(report.by_district) == {"Lubai", "Lembak"}
    assert [s.nik[:4] for s in samples] == ["1603", "1603"]
    assert {s.nik[6] in "4567" for s in samples} == {True, False}  # a man and a woman


def test_a_first_import_builds_the_lookup_indexes_after_and_a_start_rebuilds_lost_ones(tmp_path, database_url, clock):
    from sqlalchemy import inspect

    from storage.participants import without_lookup_indexes
    from tests.conftest import build

    def indexes(app) -> set[str]:
        with app.db.engine.connect() as connection:
            return {index["name"] for index in inspect(connection).get_indexes("participants")}

    wanted = {"ux_participants_nik_hash", "ix_participants_category", "ix_participants_district_village"}
    app = build(tmp_path, database_url, clock)  # a first import, into an empty roster
    assert indexes(app) >= wanted
    # An import into an empty roster that was killed before it built them:
    with app.db.transaction() as session:
        without_lookup_indexes(session)
    assert not indexes(app) & wanted
    app.close()
    app = build(tmp_path, database_url, clock, roster=[])  # the next start
    try:
        assert indexes(app) >= wanted
        with app.db.transaction() as session:
            assert find_participant(session, nik_hash=app.services.hasher.nik_hash(BUDI["nik"])) is not None
    finally:
        app.close()


def test_after_a_first_import_with_a_smaller_sqlite_cache_the_connection_has_its_own_back(tmp_path, db):
    from storage.db import SQLITE_PAGE_CACHE

    # Loaded and then indexed with the smaller cache (storage.participants.small_sqlite_cache).
    assert run(write_csv(tmp_path / "r.csv", [BUDI, SITI]), db).counts.inserted == 2
    with db.transaction() as session:
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            kept = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            assert f"cache_size={kept}" == SQLITE_PAGE_CACHE.removeprefix("PRAGMA ")
