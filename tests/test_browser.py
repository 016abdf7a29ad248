"""A person's path through the app in Debian's Chromium, driven by Playwright."""

import shutil

import pytest

from conftest import needs_fmnist

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("chromium"), reason="Debian chromium not installed")]


@needs_fmnist
def test_open_app_and_evaluate_demo_teacher(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(app_url)
            expect(page.get_by_role("tab", name="Teacher")).to_be_visible(timeout=30_000)
            page.locator("#load-teacher").click()
            expect(page.locator("#teacher-status")).to_contain_text("Loaded wrn_16_2", timeout=60_000)
            page.locator("#evaluate-teacher").click()
            expect(page.locator("#teacher-accuracy")).to_contain_text("Test accuracy:", timeout=240_000)
            text = page.locator("#teacher-accuracy").inner_text()
            page.screenshot(path=str(tmp_path / "teacher-tab.png"), full_page=True)
        finally:
            browser.close()
    accuracy = float(text.split("Test accuracy:")[1].split("%")[0])
    assert accuracy >= 93.0
