"""The parsers: examples people type, and properties over anything at all."""

from __future__ import annotations

from datetime import date

import phonenumbers
import pytest
from babel.dates import format_date
from hypothesis import given
from hypothesis import strategies as st

from handlers.parse import Invalid, Nik, parse_birth_date, parse_date, parse_nik, parse_phone


@given(st.text())
def test_no_text_makes_a_parser_raise(text):
    for result in (
        parse_nik(text),
        parse_date(text),
        parse_phone(text),
        parse_birth_date(text, today=date(2026, 11, 27)),
    ):
        assert isinstance(result, (Nik, date, str, Invalid))


@st.composite
def niks(draw):
    born = draw(st.dates(min_value=date(1901, 1, 1), max_value=date(2026, 1, 1)))
    female = draw(st.booleans())
    serial = draw(st.integers(1, 9999))
    return f"1603{draw(st.integers(1, 99)):02d}{born.day + 40 * female:02d}{born:%m%y}{serial:04d}", born, female


@given(niks(), st.lists(st.sampled_from([" ", ".", "-"]), min_size=15, max_size=15))
def test_a_valid_nik_is_read_whatever_separators_are_typed(nik_born_female, separators):
    digits, born, female = nik_born_female
    typed = "".join(d + s for d, s in zip(digits, [*separators, ""], strict=True))
    nik = parse_nik(typed)
    assert isinstance(nik, Nik) and nik.digits == digits
    assert nik.female == female and nik.matches_birth_date(born)
    assert (nik.birth_day, nik.birth_month, nik.birth_yy) == (born.day, born.month, born.year % 100)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "not_digits"),
        ("1603 abc", "not_digits"),
        ("١٦٠٣٠١٠٥٠٣٨٠٠٠٠١", "not_digits"),
        ("160301050380001", "length"),
        ("16030105038000011", "length"),
        ("1603013202800001", "birth_part"),
        ("1603017202800001", "birth_part"),
        ("1603010513800001", "birth_part"),
        ("1603012902010001", "birth_part"),
        ("1603010503800000", "serial"),
    ],
)
def test_impossible_niks_say_why(typed, reason):
    assert parse_nik(typed) == Invalid(reason)


def test_a_leap_day_nik_is_possible_in_one_century():
    assert parse_nik("1603012902000001") == Nik("1603012902000001", 29, 2, 0, False)  # 29-02-2000
    assert parse_nik("1603016902000001") == Nik("1603016902000001", 29, 2, 0, True)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.sampled_from(["id", "en"]))
def test_every_written_form_of_a_date_reads_back(day, locale):
    forms = [
        f"{day:%d-%m-%Y}",
        f"{day.day}/{day.month}/{day.year}",
        f"{day:%Y-%m-%d}",
        f"{day:%d.%m.%Y}",
        format_date(day, "d MMMM y", locale=locale),
        format_date(day, "d MMM y", locale=locale),
        format_date(day, "dd MMMM yyyy", locale=locale).upper(),
    ]
    for form in forms:
        assert parse_date(form) == day, form


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("31-02-1980", "impossible"),
        ("5-3-80", "year"),
        ("5 maretz 1980", "month"),
        ("kemarin", "format"),
        ("00-01-1980", "impossible"),
        ("5 13 1980", "impossible"),
    ],
)
def test_bad_dates_say_why(typed, reason):
    assert parse_date(typed) == Invalid(reason)


def test_old_spellings_of_months():
    assert parse_date("17 Agustus 1945") == parse_date("17 agt 1945") == date(1945, 8, 17)
    assert parse_date("10 Nopember 1945") == parse_date("10 Nop 1945") == date(1945, 11, 10)
    assert parse_date("1 Pebruari 1990") == date(1990, 2, 1)


def test_birth_dates_are_in_the_past():
    today = date(2026, 11, 27)
    assert parse_birth_date("28-11-2026", today=today) == Invalid("out_of_range")
    assert parse_birth_date("31-12-1899", today=today) == Invalid("out_of_range")
    assert parse_birth_date("27-11-2026", today=today) == today


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0812 3456 7890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("(0711) 123456", "+62711123456"),
        ("+62 (0) 812 3456 7890", "+6281234567890"),
    ],
)
def test_indonesian_phone_numbers_become_e164(typed, e164):
    assert parse_phone(typed) == e164


@given(st.one_of(st.from_regex(r"8[0-9]{6,12}", fullmatch=True), st.from_regex(r"[1-9][0-9]{6,12}", fullmatch=True)))
def test_a_numbers_validity_is_libphonenumbers_own(national):
    # parse_phone asks Indonesia's mobile description first: it must never
    # accept or refuse what libphonenumber's full check would not.
    valid = phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=62, national_number=int(national)))
    assert (parse_phone(f"0{national}") == f"+62{national}") is valid


@pytest.mark.parametrize("typed", ["0812", "08123456789012345", "+1 202 555 0100", "nomor saya", ""])
def test_not_an_indonesian_phone_number(typed):
    assert parse_phone(typed) == Invalid("phone")
