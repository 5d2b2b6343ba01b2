"""A console with something in it, for the console's tests, its browser
tests and its bench: one account per role (and one limited to another
kecamatan), and reports filed about the roster's people, one with a photo."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date
from functools import cache
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from bot.app import App
from storage import console, incidents
from storage.chats import open_chat
from storage.media import Media
from storage.participants import find_participant
from tests.conftest import BUDI, SITI

PASSWORD = "kata-sandi-uji-1"
# role -> (account name, its role, its kecamatan)
ACCOUNTS = {
    "admin": ("ani", "admin", []),
    "operator": ("oki", "operator", []),
    "viewer": ("vera", "viewer", []),
    "elsewhere": ("lia", "operator", ["Gelumbang"]),  # Budi lives in Lubai
}
# A 16x16 red PNG: a real image a browser decodes.
PHOTO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR4nGM4o6REEmIY1TCqYfhqAABFfxAQT6H4TAAAAABJRU5ErkJggg=="
)
CSRF = re.compile(r'"X-CSRF-Token": "([^"]+)"')


@cache
def password_hash() -> str:
    """PASSWORD's argon2 hash, made once: each hash takes a tenth of a second
    on purpose, and every console test starts with four accounts (making an
    account the way an administrator does is tested in test_cli and test_console)."""
    return PasswordHasher().hash(PASSWORD)


def make_accounts(app: App) -> None:
    with app.db.transaction() as session:
        for name, role, districts in ACCOUNTS.values():
            console.add_account(
                session,
                name=name,
                password_hash=password_hash(),
                role=role,
                districts=districts or None,
                now=app.clock(),
            )


def photo(root: Path) -> Media:
    folder = root / "media" / "telegram"
    folder.mkdir(parents=True, exist_ok=True)
    sha256 = hashlib.sha256(PHOTO).hexdigest()
    path = folder / f"{sha256}.png"
    path.write_bytes(PHOTO)
    return Media(path=str(path), sha256=sha256, mime_type="image/png", size=len(PHOTO), caption="luka di kaki")


def file_report(app: App, *, nik_hash: str, chat_id: str, files=(), kind="work_accident") -> str:
    """A report about a roster person, filed by a chat, as the bot files one."""
    with app.db.transaction() as session:
        chat, _ = open_chat(session, channel="telegram", chat_id=chat_id, language="id", now=app.clock())
        person = find_participant(session, nik_hash=nik_hash)
        fields = {
            "affected": "other",
            "relation": "spouse",
            "participant_id": person.id,
            "nik_hash": nik_hash,
            "nik_masked": person.nik_masked,
            "name": person.name,
            "kind": kind,
            "occurred_on": date(2026, 11, 20),
            "covered": True,
            "place": "Kebun sawit",
            "latitude": -3.66,
            "longitude": 103.77,
            "chronology": "Tertimpa pelepah saat memanen.",
            "phone": "+6281234567890",
        }
        return incidents.file_incident(session, reporter=chat, fields=fields, files=files, now=app.clock(), year=2026)


def seed(app: App) -> dict[str, str]:
    """Accounts, and two reports: Budi's (Lubai, with a photo) and Siti's (Gelumbang)."""
    make_accounts(app)
    hasher = app.services.hasher
    budi = file_report(app, nik_hash=hasher.nik_hash(BUDI["nik"]), chat_id="500", files=[photo(app.settings.data_dir)])
    siti = file_report(app, nik_hash=hasher.nik_hash(SITI["nik"]), chat_id="501", kind="death")
    return {"budi": budi, "siti": siti}


def client(url: str) -> httpx.Client:
    """A browser of sorts: its own cookies, redirects shown rather than followed."""
    return httpx.Client(base_url=url, follow_redirects=False, timeout=30)


def log_in(url: str, role: str | None) -> tuple[httpx.Client, str]:
    """A client signed in as the role's account (None: nobody), and its CSRF token."""
    browser = client(url)
    page = browser.get("/console/login")
    token = CSRF.search(page.text)[1]
    if role is None:
        return browser, token
    answer = browser.post("/console/login", data={"csrf": token, "name": ACCOUNTS[role][0], "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return browser, CSRF.search(browser.get("/console/dashboard").text)[1]
