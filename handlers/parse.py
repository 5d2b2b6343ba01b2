"""Pure parsers for what people type. None of them raises: each returns the
value or an `Invalid` carrying a reason the flow turns into a helpful reply."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import cache
from typing import NamedTuple

import phonenumbers
from babel.dates import get_month_names

NIK_SEPARATORS = re.compile(r"[\s.\-_/]+")
ASCII_DIGITS = re.compile(r"[0-9]+")


class Invalid(NamedTuple):
    reason: str


class Nik(NamedTuple):
    """A NIK that can be real: its 16 digits and the birth they record
    (digits 7-12, DDMMYY, with 40 added to the day for women), read once,
    as an import of a million rows asks each of them twice."""

    digits: str
    birth_day: int
    birth_month: int
    birth_yy: int
    female: bool

    def matches_birth_date(self, born: date) -> bool:
        return (born.day, born.month, born.year % 100) == (self.birth_day, self.birth_month, self.birth_yy)


def nik_digits(text: str) -> str:
    """What is left of a typed NIK once spaces, dots and dashes are gone."""
    text = text or ""
    return text if text.isdigit() else NIK_SEPARATORS.sub("", text)  # digits alone have nothing to take out


def parse_nik(text: str) -> Nik | Invalid:
    """16 digits, typed with any spaces, dots or dashes; digits 7-12 must be a
    real DDMMYY birth date (day + 40 for women) in some century."""
    digits = nik_digits(text)
    if not ASCII_DIGITS.fullmatch(digits):
        return Invalid("not_digits")
    if len(digits) != 16:
        return Invalid("length")
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    female = day > 40
    if female:
        day -= 40
    # 2000+YY is a date whenever 1900+YY is (2000 was a leap year, 1900 was
    # not), so one try covers both centuries: a million times on an import.
    if not 1 <= day <= 31 or not _is_date(2000 + yy, month, day):
        return Invalid("birth_part")
    if digits[12:] == "0000":
        return Invalid("serial")
    return Nik(digits, day, month, yy, female)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


@cache
def _month_numbers() -> dict[str, int]:
    """Month words people type, in Indonesian and English, full or short,
    plus the old spellings (Pebruari, Nopember) still common in villages."""
    months: dict[str, int] = {}
    for locale in ("id", "en"):
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=locale).items():
                months[name.lower().rstrip(".")] = number
    extra = {
        "peb": 2,
        "pebruari": 2,
        "mrt": 3,
        "agt": 8,
        "ags": 8,
        "agst": 8,
        "agus": 8,
        "sept": 9,
        "nop": 11,
        "nopember": 11,
    }
    months.update(extra)
    return months


NUMERIC_DMY = re.compile(r"(\d{1,2})[\s./\-]+(\d{1,2})[\s./\-]+(\d+)")
NUMERIC_YMD = re.compile(r"(\d{4})[\s./\-]+(\d{1,2})[\s./\-]+(\d{1,2})")
RUN_TOGETHER = re.compile(r"(\d{2})(\d{2})(\d{4}|\d{2})")  # 15031985, 150385
WORDED = re.compile(r"(\d{1,2})[\s./\-]*([^\W\d_]+)\.?[\s./\-]*(\d+)")
WORDED_MDY = re.compile(r"([^\W\d_]+)\.?\s*(\d{1,2})\s+(\d+)")  # October 8 1972
WORDED_NO_YEAR = re.compile(r"(\d{1,2})[\s./\-]*([^\W\d_]+)\.?")  # 30 nov
# "2 hari lalu", "seminggu yang lalu", "3 weeks ago"
AGO = re.compile(r"(\d{1,2}|se)\s*(hari|minggu|pekan|days?|weeks?) (?:yang )?(?:lalu|lewat|kemarin|ago)")
WEEKS = ("minggu", "pekan", "week", "weeks")
# Words around a date that say nothing about it: "tgl 15 maret 1985", "15 Maret, 1985".
FILLER = re.compile(r"^(?:tanggal|tgl\.?|tg\.?|lahir|date|born|on)\s+|,")


def _parts(text: str) -> tuple[str, int | None, str] | Invalid:
    """(day, month, year as typed) of a date written any usual way."""
    text = FILLER.sub(" ", FILLER.sub(" ", (text or "").strip().lower())).strip()
    text = " ".join(text.split())
    if match := NUMERIC_YMD.fullmatch(text):
        year, month, day = match.groups()
    elif match := NUMERIC_DMY.fullmatch(text) or RUN_TOGETHER.fullmatch(text):
        day, month, year = match.groups()
    elif match := WORDED.fullmatch(text):
        day, word, year = match.groups()
        month = _month_numbers().get(word)
    elif match := WORDED_MDY.fullmatch(text):
        word, day, year = match.groups()
        month = _month_numbers().get(word)
    else:
        return Invalid("format")
    if month is None:
        return Invalid("month")
    return day, int(month), year


def _dated(day: str, month: int, year: int) -> date | Invalid:
    try:
        return date(year, month, int(day))
    except ValueError:
        return Invalid("impossible")


def parse_date(text: str) -> date | Invalid:
    """05-03-1980, 5/3/1980, 05 Maret 1980, 5 mar 1980, 1980-03-05,
    15031985, tgl 15 Maret, 1985, October 8, 1972. The year must have four
    digits: '80' alone could be 1980 or 2080 (parse_birth_date and
    parse_incident_date know which)."""
    parts = _parts(text)
    if isinstance(parts, Invalid):
        return parts
    day, month, year = parts
    if len(year) != 4:
        return Invalid("year")
    return _dated(day, month, int(year))


def _latest(day: str, month: int, year: str, today: date) -> date | Invalid:
    """The date with a two-digit year in the century that puts it closest
    before today (85 is 1985 in 2026; 20 is 2020)."""
    if len(year) == 4:
        return _dated(day, month, int(year))
    if len(year) != 2:
        return Invalid("year")
    dated = _dated(day, month, today.year // 100 * 100 + int(year))
    if isinstance(dated, date) and dated > today:
        return _dated(day, month, dated.year - 100)
    return dated


def parse_birth_date(text: str, *, today: date) -> date | Invalid:
    """A birth date as parse_date reads it, or with a two-digit year (15 mar
    85, 07/11/90) in the century that is not in the future: the NIK holds the
    same two digits, so the check against it still decides."""
    parts = _parts(text)
    born = parts if isinstance(parts, Invalid) else _latest(*parts, today)
    if isinstance(born, date) and not (date(1900, 1, 1) <= born <= today):
        return Invalid("out_of_range")
    return born


def parse_incident_date(text: str, *, today: date) -> date | Invalid:
    """When something happened: any date parse_birth_date reads, "2 hari
    lalu", "seminggu lalu", or a day and month without the year ("30 nov": the latest one
    that is not in the future)."""
    typed = " ".join((text or "").strip().lower().split())
    if match := AGO.fullmatch(typed):
        count = 1 if match[1] == "se" else int(match[1])
        return today - timedelta(days=count * (7 if match[2] in WEEKS else 1))
    if (match := WORDED_NO_YEAR.fullmatch(typed)) and (month := _month_numbers().get(match[2])):
        dated = _dated(match[1], month, today.year)
        if isinstance(dated, date) and dated > today:
            return _dated(match[1], month, today.year - 1)
        return dated
    parts = _parts(text)
    return parts if isinstance(parts, Invalid) else _latest(*parts, today)


PHONE_SEPARATORS = re.compile(r"[\s.\-()]+")
PLAIN_INDONESIAN = re.compile(r"(?:\+?62|0)([1-9][0-9]{6,12})")


@cache
def _indonesian_mobile() -> tuple[tuple[list[int], re.Pattern], ...]:
    """The lengths and pattern of each of libphonenumber's descriptions a
    valid Indonesian mobile number matches, the patterns compiled once."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("ID")
    return tuple(
        (desc.possible_length, re.compile(desc.national_number_pattern))
        for desc in (metadata.general_desc, metadata.mobile)
    )


def _valid_indonesian(national: str) -> bool:
    """libphonenumber's validity of +62 `national`. A number its metadata
    calls mobile is valid: asked first, since a roster's numbers are mobile
    and the full check tries every kind of number (ten times slower, for a
    million rows); any other number gets the full check."""
    if all(len(national) in lengths and pattern.fullmatch(national) for lengths, pattern in _indonesian_mobile()):
        return True
    return phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=62, national_number=int(national)))


def parse_phone(text: str) -> str | Invalid:
    """Any Indonesian way of writing a number (0812..., 62812..., +62 812-...)
    as E.164 (+62812...). Numbers of other countries are refused."""
    if plain := PLAIN_INDONESIAN.fullmatch(PHONE_SEPARATORS.sub("", text or "")):
        # The common shapes skip the general parser (4x slower, and a roster
        # has a million of them); validity still comes from libphonenumber.
        return f"+62{plain[1]}" if _valid_indonesian(plain[1]) else Invalid("phone")
    try:
        number = phonenumbers.parse(text or "", "ID")
    except phonenumbers.NumberParseException:
        return Invalid("phone")
    if number.country_code != 62 or not phonenumbers.is_valid_number(number):
        return Invalid("phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
