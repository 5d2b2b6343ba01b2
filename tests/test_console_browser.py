"""The console in a real browser: Playwright driving Debian's chromium
(Playwright's own browser download cannot run here; .ci/run installs the
package). Login, the dashboard, filtering, a report with its photo, a status
change, a tick in place, a viewer's and a district's limits, and CSRF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.console.routes import console_site
from bot.web import build_web
from tests.conftest import build
from tests.console_world import ACCOUNTS, PASSWORD, seed
from tests.servers import served_in_thread

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def console(tmp_path, sqlite_url, clock):
    app = build(tmp_path, sqlite_url, clock)
    references = seed(app)
    with served_in_thread(build_web(db=app.db, metrics=app.metrics, sites=[console_site(app)])) as url:
        yield url, references
    app.close()


def signed_in(browser, url: str, role: str, *, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{url}/console/")
    page.get_by_label("Nama akun").fill(ACCOUNTS[role][0])
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/console/dashboard$"))
    return page


def test_an_operator_works_a_report_from_the_queue_to_a_new_status(browser, console):
    url, references = console
    page = signed_in(browser, url, "operator")
    assert page.locator("figure.chart svg rect.bar").count() > 0  # the charts are drawn
    page.get_by_role("link", name="Laporan", exact=True).click()
    page.get_by_label("Jenis").select_option("work_accident")  # HTMX swaps the queue in place
    page.wait_for_url(re.compile(r"kind=work_accident"))
    queue = page.locator("#queue")
    queue.get_by_text(references["budi"]).wait_for()
    assert references["siti"] not in queue.inner_text()
    queue.get_by_role("link", name=references["budi"]).click()
    photo = page.locator(".files img")
    photo.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth", photo.element_handle()) == 16
    item = page.locator(".checklist button").first
    item.click()  # ticked in place: the page is not reloaded
    page.locator(".checklist small").first.wait_for()
    assert "console:oki" in page.locator(".checklist").inner_text()
    page.get_by_label("Status baru").select_option("diverifikasi")
    page.get_by_role("button", name="Simpan dan beri tahu pelapor").click()
    page.get_by_text("Tersimpan.").wait_for()
    assert "diverifikasi" in page.locator("ol").inner_text()
    page.close()


def test_a_viewer_reads_but_finds_no_form_to_change_anything(browser, console):
    url, references = console
    page = signed_in(browser, url, "viewer")
    page.goto(f"{url}/console/reports/{references['budi']}")
    assert page.get_by_label("Status baru").count() == 0
    assert page.locator(".checklist button").count() == 0
    assert page.get_by_role("link", name="Akun").count() == 0
    page.close()


def test_an_account_of_another_district_cannot_open_lubai(browser, console):
    url, references = console
    page = signed_in(browser, url, "elsewhere")
    page.get_by_role("link", name="Laporan", exact=True).click()
    assert references["siti"] in page.locator("#queue").inner_text()
    assert references["budi"] not in page.locator("#queue").inner_text()
    answer = page.goto(f"{url}/console/reports/{references['budi']}")
    assert answer.status == 404
    page.close()


def test_a_form_whose_token_was_tampered_with_is_refused(browser, console):
    url, references = console
    page = signed_in(browser, url, "operator")
    page.goto(f"{url}/console/reports/{references['budi']}")
    page.locator(".status-change input[name=csrf]").evaluate("(field) => field.value = 'forged'")
    page.get_by_role("button", name="Simpan dan beri tahu pelapor").click()
    page.get_by_text("Formulir kedaluwarsa").wait_for()
    page.goto(f"{url}/console/reports/{references['budi']}")
    assert "diverifikasi" not in page.locator("ol").inner_text()
    page.close()


def test_the_dashboard_reads_on_a_phone_and_by_keyboard(browser, console):
    url, _ = console
    page = signed_in(browser, url, "admin", width=360)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the dashboard is {width}px wide on a 360px phone"
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.textContent") == "Lewati ke isi"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
               .filter((field) => !field.labels || field.labels.length === 0).length"""
    )
    assert unlabelled == 0
    page.close()


def test_an_admin_records_the_renewal_decision_and_a_viewer_reads_it(browser, console):
    url, _ = console
    page = signed_in(browser, url, "admin")
    page.get_by_role("link", name="Perpanjangan").click()
    assert "belum diputuskan" in page.locator("dl").inner_text()
    page.get_by_label("Keadaan").select_option("planned")
    page.get_by_label("Periode baru mulai").fill("2027-01-01")
    page.get_by_label("Catatan singkat untuk warga (Bahasa Indonesia)").fill("Menunggu APBD 2027.")
    page.get_by_role("button", name="Simpan keputusan").click()
    page.wait_for_url(re.compile(r"/console/renewal$"))
    decided = page.locator("dl").inner_text()
    assert "direncanakan" in decided and "1 Jan 2027" in decided and "Menunggu APBD 2027." in decided
    assert "console:ani" in decided
    page.close()
    viewer = signed_in(browser, url, "viewer")
    viewer.goto(f"{url}/console/renewal")
    assert "direncanakan" in viewer.locator("dl").inner_text()
    assert viewer.get_by_role("button", name="Simpan keputusan").count() == 0  # reading only
    viewer.close()
