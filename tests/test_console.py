"""The web console from the server's side: every route for every role
(anonymous, viewer, operator, admin, an account of another kecamatan), the
login lock, CSRF, the allowed status moves, the audit trail and exports."""

from __future__ import annotations

import csv
import io
import logging

import pytest
from sqlalchemy import select

from bot.config import TemplateSettings
from bot.console.routes import console_site
from bot.web import build_web
from storage import whatsapp_templates
from storage.tables import CONSOLE_AUDIT, OUTBOX
from tests.conftest import BUDI, build
from tests.console_world import CSRF, PASSWORD, client, log_in, seed
from tests.servers import served_in_thread


@pytest.fixture
def world(tmp_path, database_url, clock):
    """The console on SQLite and on PostgreSQL, with its accounts and two reports."""
    app = build(tmp_path, database_url, clock)
    references = seed(app)
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        yield app, url, references
    app.close()


ROLES = ("anonymous", "viewer", "operator", "admin", "elsewhere")
SIGN_IN = 303  # to the login page
OK, GONE, FORBIDDEN, DONE = 200, 404, 403, 303

# (method, path, form, what each role gets, in ROLES' order). {budi} is a
# report about a person in Lubai; "elsewhere" is limited to Gelumbang.
MATRIX = [
    ("GET", "/console/dashboard", None, (SIGN_IN, OK, OK, OK, OK)),
    ("GET", "/console/reports", None, (SIGN_IN, OK, OK, OK, OK)),
    ("GET", "/console/reports/{budi}", None, (SIGN_IN, OK, OK, OK, GONE)),
    ("GET", "/console/reports/{budi}/files/0", None, (SIGN_IN, OK, OK, OK, GONE)),
    ("GET", "/console/reports/{budi}/files/1", None, (SIGN_IN, GONE, GONE, GONE, GONE)),
    ("GET", "/console/export?format=csv", None, (SIGN_IN, OK, OK, OK, OK)),
    ("POST", "/console/participants", {"q": "budi"}, (SIGN_IN, OK, OK, OK, OK)),
    ("GET", "/console/accounts", None, (SIGN_IN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN)),
    ("GET", "/console/audit", None, (SIGN_IN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN)),
    ("POST", "/console/reports/{budi}/status", {"status": "diverifikasi"}, (SIGN_IN, FORBIDDEN, DONE, DONE, GONE)),
    ("POST", "/console/reports/{budi}/documents", {"item": "e-KTP"}, (SIGN_IN, FORBIDDEN, DONE, DONE, GONE)),
    ("POST", "/console/reports/{budi}/notes", {"text": "sudah ditelepon"}, (SIGN_IN, FORBIDDEN, DONE, DONE, GONE)),
    (
        "POST",
        "/console/accounts",
        {"name": "baru", "role": "viewer", "password": "panjang-sekali"},
        (SIGN_IN, FORBIDDEN, FORBIDDEN, DONE, FORBIDDEN),
    ),
    ("POST", "/console/accounts/vera", {"action": "disable"}, (SIGN_IN, FORBIDDEN, FORBIDDEN, DONE, FORBIDDEN)),
    ("GET", "/console/renewal", None, (SIGN_IN, OK, OK, OK, OK)),
    (
        "POST",
        "/console/renewal/decide",
        {"state": "planned", "expected_start": "2027-01-01"},
        (SIGN_IN, FORBIDDEN, FORBIDDEN, DONE, FORBIDDEN),
    ),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_its_rights_say(world, role):
    app, web, references = world
    browser, token = log_in(web, None if role == "anonymous" else role)
    for method, path, form, expected in MATRIX:
        url = path.format(**references)
        if method == "GET":
            answer = browser.get(url)
        else:
            answer = browser.post(url, data={**form, "csrf": token})
        wanted = expected[ROLES.index(role)]
        assert answer.status_code == wanted, (role, method, url, answer.status_code, answer.text[:300])
        if wanted == SIGN_IN and role == "anonymous":
            assert answer.headers["location"].startswith("/console/login?next=")
        if wanted == DONE:  # a done form goes back to a console page, never elsewhere
            assert answer.headers["location"].startswith("/console/")


def test_an_account_of_another_district_sees_nothing_of_lubai(world):
    app, web, references = world
    browser, token = log_in(web, "elsewhere")
    queue = browser.get("/console/reports").text
    assert references["siti"] in queue and references["budi"] not in queue
    for typed in ("budi", BUDI["nik"], BUDI["no_kpj"]):
        assert "Budi Santoso" not in browser.post("/console/participants", data={"csrf": token, "q": typed}).text
    exported = browser.get("/console/export?format=csv").text
    assert references["siti"] in exported and references["budi"] not in exported
    dashboard = browser.get("/console/dashboard").text
    assert "Lubai" not in dashboard and "Gelumbang" in dashboard


def test_a_status_change_tells_the_reporter_as_the_command_line_does(world):
    app, web, references = world
    browser, token = log_in(web, "operator")
    url = f"/console/reports/{references['budi']}"
    assert browser.post(f"{url}/status", data={"csrf": token, "status": "diverifikasi"}).status_code == 303
    page = browser.get(url).text
    assert "Tersimpan." in page and "console:oki" in page  # the history names the account
    with app.db.transaction() as session:
        notices = session.connection().execute(select(OUTBOX.c.body).where(OUTBOX.c.kind == "notice")).scalars().all()
    assert any(references["budi"] in body and "Diverifikasi" in body for body in notices), notices


def test_moves_go_forward_and_only_an_admin_goes_back(world):
    app, web, references = world
    operator, token = log_in(web, "operator")
    url = f"/console/reports/{references['budi']}"

    def move(browser, csrf, status, note=""):
        return browser.post(f"{url}/status", data={"csrf": csrf, "status": status, "note": note})

    assert move(operator, token, "ditolak").status_code == 303  # refused for want of a reason
    assert "ditolak needs a reason" in operator.get(url).text
    assert move(operator, token, "diproses").status_code == 303
    assert move(operator, token, "diterima").status_code == 403  # back: an admin's
    admin, admin_token = log_in(web, "admin")
    assert move(admin, admin_token, "diverifikasi").status_code == 303
    assert move(operator, token, "selesai").status_code == 303
    assert move(admin, admin_token, "diproses").status_code == 303  # refused: selesai is final
    page = admin.get(url).text
    assert "selesai is final" in page and "Status ini final." in page
    history = page[page.index('id="history"') :]
    assert [word for word in ("diterima", "diproses", "diverifikasi", "selesai") if word in history]


def test_a_form_without_its_csrf_token_changes_nothing(world):
    app, web, references = world
    browser, _ = log_in(web, "operator")
    url = f"/console/reports/{references['budi']}"
    for token in ("", "forged"):
        answer = browser.post(f"{url}/status", data={"csrf": token, "status": "diverifikasi"})
        assert answer.status_code == 403 and "Formulir kedaluwarsa" in answer.text
    # The token of another session is no better.
    _, other = log_in(web, "admin")
    assert browser.post(f"{url}/status", data={"csrf": other, "status": "diverifikasi"}).status_code == 403
    assert browser.post("/console/logout", data={"csrf": "forged"}).status_code == 403
    assert "status-diverifikasi" not in browser.get(url).text


def test_five_wrong_passwords_lock_an_account_for_fifteen_minutes(world, clock, caplog):
    app, web, _ = world
    browser, token = log_in(web, None)
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        wrong = browser.post("/console/login", data={"csrf": token, "name": "oki", "password": "salah-salah-1"})
        assert wrong.status_code == 401 and "salah" in wrong.text
    right = {"csrf": token, "name": "oki", "password": PASSWORD}
    assert browser.post("/console/login", data=right).status_code == 401  # locked, whatever the password
    assert any("oki locked" in record.getMessage() for record in caplog.records)
    assert not any(PASSWORD in record.getMessage() or "salah-salah" in record.getMessage() for record in caplog.records)
    clock.advance(minutes=16)
    assert browser.post("/console/login", data=right).status_code == 303
    with app.db.transaction() as session:
        actions = session.connection().execute(select(CONSOLE_AUDIT.c.action)).scalars().all()
    assert actions.count("login_failed") == 5 and "account_locked" in actions and "login" in actions


def test_login_tries_from_one_address_are_limited(tmp_path, sqlite_url, clock):
    app = build(tmp_path, sqlite_url, clock, console={"logins_per_address": 3})
    seed(app)
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as web:
        browser, token = log_in(web, None)
        for name in ("a1", "a2", "a3"):
            answer = browser.post("/console/login", data={"csrf": token, "name": name, "password": "x"})
            assert answer.status_code == 401
        over = browser.post("/console/login", data={"csrf": token, "name": "ani", "password": PASSWORD})
        assert over.status_code == 429 and "Terlalu banyak" in over.text
    app.close()


def test_a_disabled_account_is_signed_out_at_its_next_page(world):
    app, web, _ = world
    viewer, _ = log_in(web, "viewer")
    admin, token = log_in(web, "admin")
    assert admin.post("/console/accounts/vera", data={"csrf": token, "action": "disable"}).status_code == 303
    assert viewer.get("/console/dashboard").status_code == 303
    assert "aktif" in admin.get("/console/accounts").text


def test_login_goes_on_only_to_a_console_page(world):
    app, web, _ = world
    for target, landing in (("//evil.example/x", "/console/dashboard"), ("/console/reports", "/console/reports")):
        browser, token = log_in(web, None)
        answer = browser.post(
            "/console/login", data={"csrf": token, "name": "ani", "password": PASSWORD, "next": target}
        )
        assert answer.headers["location"] == landing


def test_lookups_and_file_views_are_audited_without_a_nik(world, caplog):
    app, web, references = world
    caplog.set_level(logging.DEBUG)
    browser, token = log_in(web, "viewer")
    card = browser.post("/console/participants", data={"csrf": token, "q": BUDI["nik"]}).text
    assert "Budi Santoso" in card and "12345678901" in card and BUDI["nik"] not in card
    photo = browser.get(f"/console/reports/{references['budi']}/files/0")
    assert photo.headers["content-type"] == "image/png" and photo.content.startswith(b"\x89PNG")
    with app.db.transaction() as session:
        rows = session.connection().execute(select(CONSOLE_AUDIT)).mappings().all()
    lookups = [row for row in rows if row["action"] == "participant_lookup"]
    assert lookups[0]["account"] == "console:vera" and lookups[0]["target"] == "nik:1603********0001"
    assert any(row["action"] == "file_view" and row["target"] == references["budi"] for row in rows)
    assert not any(BUDI["nik"] in str(value) for row in rows for value in row.values())
    assert not any(BUDI["nik"] in record.getMessage() for record in caplog.records)


def test_the_export_carries_what_bpjs_staff_need(world):
    app, web, references = world
    browser, token = log_in(web, "operator")
    url = f"/console/reports/{references['budi']}"
    browser.post(f"{url}/documents", data={"csrf": token, "item": "e-KTP"})
    browser.post(f"{url}/notes", data={"csrf": token, "text": "berkas lengkap"})
    answer = browser.get("/console/export?format=csv&status=diterima&kind=work_accident")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [row["reference"] for row in rows] == [references["budi"]]  # the filters applied
    assert rows[0]["kpj"] == "12345678901"
    assert rows[0]["documents_ticked"] == "e-KTP"
    assert rows[0]["notes"] == "console:oki: berkas lengkap"
    xlsx = browser.get("/console/export?format=xlsx")
    assert xlsx.content.startswith(b"PK")  # a zip: a workbook


def test_the_queue_answers_htmx_with_its_fragment_and_pages(world):
    app, web, references = world
    browser, _ = log_in(web, "viewer")
    fragment = browser.get("/console/reports?kind=death", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and references["siti"] in fragment and references["budi"] not in fragment
    whole = browser.get("/console/reports?kind=death").text
    assert whole.startswith("<!doctype html>") and references["siti"] in whole
    found = browser.get("/console/reports?reference=000002").text
    assert references["siti"] in found and references["budi"] not in found


def test_the_banner_says_what_the_settings_lack(world):
    app, web, _ = world
    browser, _ = log_in(web, "viewer")
    page = browser.get("/console/dashboard").text
    assert "Belum ada tujuan operator" in page and "Kontak di config.yaml masih contoh" in page
    assert "Iuran BPU di config.yaml (programme.bpu) belum dikonfirmasi" in page
    english = browser.get("/console/language?to=en&next=/console/dashboard", follow_redirects=True).text
    assert "No operator destination is set" in english and 'lang="en"' in english


def test_accounts_are_managed_from_the_console_and_the_rules_hold(world):
    app, web, _ = world
    admin, token = log_in(web, "admin")
    short = admin.post(
        "/console/accounts", data={"csrf": token, "name": "baru", "role": "viewer", "password": "pendek"}
    )
    assert short.status_code == 303
    assert "at least 10 characters" in admin.get("/console/accounts").text
    made = admin.post(
        "/console/accounts",
        data={"csrf": token, "name": "baru", "role": "operator", "password": "panjang-sekali", "districts": "Lubai"},
    )
    assert made.status_code == 303
    browser = client(web)
    first = CSRF.search(browser.get("/console/login").text)[1]
    assert (
        browser.post("/console/login", data={"csrf": first, "name": "baru", "password": "panjang-sekali"}).status_code
        == 303
    )
    assert "Kecamatan: Lubai" in browser.get("/console/dashboard").text
    assert admin.post("/console/accounts/ani", data={"csrf": token, "action": "disable"}).status_code == 303
    assert "cannot disable their own account" in admin.get("/console/accounts").text


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_httponly_lax_and_secure_when_served_over_https(tmp_path, sqlite_url, clock, secure):
    app = build(tmp_path, sqlite_url, clock, console={"secure_cookie": secure})
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as web:
        cookie = client(web).get("/console/login").headers["set-cookie"].lower()
    app.close()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    assert ("secure" in cookie.split(";")[-1] or "; secure" in cookie) == secure


def test_the_banner_names_the_whatsapp_templates_still_missing(tmp_path, sqlite_url, clock):
    templates = {"notice": TemplateSettings(name="payung_notice", parameters=["text"])}
    app = build(tmp_path, sqlite_url, clock, whatsapp={"enabled": True, "templates": templates})
    seed(app)
    with app.db.transaction() as session:  # the shipped reminder template is under review; the rest never sent
        whatsapp_templates.record(session, [("payung_pengingat", "id", "PENDING", "9001")], now=clock())
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as web:
        browser, _ = log_in(web, "viewer")
        page = browser.get("/console/dashboard").text
    app.close()
    unready = (
        "reminder_30 (ditinjau), reminder_14 (ditinjau), reminder_7 (ditinjau), reminder_1 (ditinjau), "
        "reminder_after_1 (belum ada), answer (belum ada), announcement (belum ada), renewal (belum ada)"
    )
    assert f"Template WhatsApp belum siap untuk: {unready}." in page
