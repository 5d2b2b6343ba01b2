"""The console in Debian's chromium, driven by Playwright's async API (its
own browser download cannot run here; .ci/run installs the package): for
tests that also run the bot in their event loop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.console_world import ACCOUNTS, PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


async def launched(driver):
    return await driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])


async def signed_in(browser, url: str, role: str):
    """A page of the console, logged in as the account of `role`."""
    page = await browser.new_page()
    await page.goto(f"{url}/console/login")
    await page.get_by_label("Nama akun").fill(ACCOUNTS[role][0])
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(re.compile(r"/console/dashboard$"))
    return page
