"""A synthetic roster shaped like Muara Enim's: 24,651 village workers and
2,124 palm-oil smallholders over the regency's districts. Every person is
fictitious and looks it (family names such as 'Contoh' and 'Fiktif', villages
named 'Demo'); NIKs have the regency prefix and valid birth-date parts.
Seeded, so the sample pairs printed for the demo are the same everywhere."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.ops.roster import write_roster_csv

# Muara Enim's real programme: 24,651 village workers + 2,124 smallholders.
# How the village workers split over categories is not published; this split
# is a plausible stand-in (one head per village, RT/RW under 'lainnya').
VILLAGES_PER_DISTRICT = 12
CATEGORY_COUNTS = {
    "kepala_desa": 264,
    "perangkat_desa": 3168,
    "bpd": 1848,
    "linmas": 7920,
    "guru_ngaji": 5280,
    "lainnya": 6171,
    "petani_sawit": 2124,
}
DEMO_SIZE = sum(CATEGORY_COUNTS.values())  # 26,775

GIVEN_MALE = ("Budi", "Agus", "Joko", "Rudi", "Hendra", "Slamet", "Darmawan", "Yusuf", "Rahmat", "Bambang")
GIVEN_FEMALE = ("Siti", "Dewi", "Sri", "Rina", "Yanti", "Nur", "Aisyah", "Lestari", "Wulan", "Fitri")
FAMILY = ("Contoh", "Fiktif", "Percobaan", "Demo", "Rekaan")
VILLAGE_WORDS = (
    "Talang",
    "Tanjung",
    "Karang",
    "Muara",
    "Sungai",
    "Lubuk",
    "Air",
    "Pulau",
    "Batu",
    "Padang",
    "Gunung",
    "Sukamaju",
)


@dataclass(frozen=True)
class Sample:
    nik: str
    birth_date: date
    name: str
    phone: str  # the roster's: typed on the console, it proves the chat is the person's own


def _categories(rows: int) -> list[str]:
    """The demo split scaled to `rows` people."""
    scaled = {cat: count * rows // DEMO_SIZE for cat, count in CATEGORY_COUNTS.items()}
    scaled["lainnya"] += rows - sum(scaled.values())
    return [cat for cat, count in scaled.items() for _ in range(count)]


def demo_people(
    *, year: int, districts: list[str], regency_code: str, rows: int = DEMO_SIZE, seed: int = 1603
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    serials: defaultdict[str, int] = defaultdict(int)
    categories = _categories(rows)
    rng.shuffle(categories)
    for index, category in enumerate(categories):
        district_number = index % len(districts)
        village = f"{VILLAGE_WORDS[(index // len(districts)) % VILLAGES_PER_DISTRICT]} Demo"
        female = rng.random() < (0.45 if category in ("guru_ngaji", "petani_sawit") else 0.2)
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
        prefix = f"{regency_code}{district_number + 1:02d}{born.day + (40 if female else 0):02d}{born:%m%y}"
        serials[prefix] += 1
        given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        yield {
            "nik": f"{prefix}{serials[prefix]:04d}",
            "nama": f"{given} {rng.choice(FAMILY)}",
            "tanggal_lahir": born.isoformat(),
            "jenis_kelamin": "P" if female else "L",
            "desa": village,
            "kecamatan": districts[district_number],
            "kategori": category,
            "no_kpj": f"99{index + 1:09d}",
            "telepon": f"0812{rng.randrange(10**8):08d}" if rng.random() < 0.7 else "",
            "mulai": f"{year}-10-01",
            "berakhir": f"{year}-12-31",
        }


def write_demo_roster(path: Path, **options: Any) -> list[Sample]:
    """Write the roster as CSV; return a man's and a woman's NIK, birth date and phone to try."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples: dict[str, Sample] = {}

    def remember(people: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for person in people:
            if person["telepon"]:
                born = date.fromisoformat(person["tanggal_lahir"])
                sample = Sample(person["nik"], born, person["nama"], person["telepon"])
                samples.setdefault(person["jenis_kelamin"], sample)
            yield person

    with path.open("w", encoding="utf-8", newline="") as file:
        write_roster_csv(file, remember(demo_people(**options)))
    return [samples[gender] for gender in ("L", "P") if gender in samples]
