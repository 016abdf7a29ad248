"""Two visitors at once, in Debian's Chromium (Playwright): one at 1440x900 distils, the
other at 390x844 generates meanwhile and gets its samples while the distillation still
runs (previews and heavy work are separate pools); the second visitor's own distillation
waits in line, says its place and wait, and leaves the line when cancelled (nothing ran);
a visitor holds one heavy job at a time. (How much longer Generate takes beside a
distillation is measured, not asserted: benchmarks/bench_browser.py.)"""

import os
import shutil
from pathlib import Path

import pytest
import torch
from conftest import ROOT, needs_fmnist

from dfkd_core.methods.base import label_with_teacher
from dfkd_core.methods.writer import add_to_sample_set
from dfkd_core.teacher.demo import demo_teacher

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_fmnist,
              pytest.mark.skipif(not shutil.which("chromium"), reason="Debian chromium not installed")]
SET = "sessions-noise"


@pytest.fixture(scope="module")
def long_set(runs_dir):
    """1,000 noise images: a distillation of 200 epochs on them runs for minutes (it is cancelled)."""
    teacher = demo_teacher()
    images = torch.rand(1000, 1, 32, 32, generator=torch.Generator().manual_seed(5))
    add_to_sample_set(SET, label_with_teacher(teacher, images, list(range(1000)), "noise"), teacher,
                      {"class_names": teacher.class_names})
    return SET


def _shots() -> Path:
    folder = Path(os.environ.get("DFKD_SCREENSHOTS") or ROOT / "runs" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _distil(page, expect, epochs: int):
    page.get_by_role("tab", name="Distill").click()
    picker = page.locator("#distill-sets input").first
    expect(picker).to_have_value(SET, timeout=30_000)  # the newest set, preselected
    box = page.locator("#distill-epochs input[type='number']")
    box.fill(str(epochs))
    box.press("Enter")
    page.locator("#distill-launch").click()


def _open_tab(page, name):
    tab = page.get_by_role("tab", name=name, exact=True)
    if not tab.is_visible():  # a phone folds the tabs that do not fit into a menu
        page.locator(".overflow-menu button, button.overflow-menu").first.click()
        tab = page.locator(".overflow-dropdown button, .overflow-item-button").filter(has_text=name).first
    tab.click()


def test_one_visitor_distils_while_another_generates_and_waits_in_line(app_url, long_set):
    from playwright.sync_api import expect, sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            a = browser.new_page(viewport={"width": 1440, "height": 900})
            b = browser.new_page(viewport={"width": 390, "height": 844})
            for page in (a, b):
                page.goto(app_url)
                expect(page.get_by_role("tab", name="Samples")).to_be_visible(timeout=30_000)
            _distil(a, expect, 200)
            status_a = a.locator("#distill-status")
            expect(status_a).to_contain_text("step", timeout=120_000)  # A's distillation is running

            # B's Generate returns while A still distils (it never waits behind A's heavy work)
            _open_tab(b, "Samples")
            b.locator("#generate-samples").click()
            expect(b.locator("#samples-status")).to_contain_text("guided vs", timeout=120_000)
            assert "Done" not in status_a.inner_text() and "Cancelled" not in status_a.inner_text()
            expect(b.locator("#samples-status")).to_be_in_viewport()  # on B's phone, the result in view

            # B's own distillation waits in line behind A's: its place and wait, in B's status line
            _open_tab(b, "Distill")
            _distil(b, expect, 2)
            status_b = b.locator("#distill-status")
            expect(status_b).to_contain_text("1st in line", timeout=60_000)
            expect(status_b).to_contain_text("running now: a distillation")
            expect(status_b).to_contain_text("about")
            b.screenshot(path=str(_shots() / "sessions-in-line-phone.png"))
            a.screenshot(path=str(_shots() / "sessions-distilling-desktop.png"))

            # A holds one heavy job at a time: its second is refused with a message in its tab
            a.get_by_role("tab", name="HiDFD").click()
            a.locator("#hidfd-train").click()
            expect(a.locator("#hidfd-status")).to_contain_text("You already have a distillation", timeout=30_000)

            # Cancel reaches B's job while it waits: it leaves the line, nothing ran
            b.locator("#distill-cancel").click()
            expect(status_b).to_contain_text("Cancelled while waiting in line", timeout=30_000)
            assert "step" in status_a.inner_text() or "Epoch" in status_a.inner_text()  # A's run goes on
            a.get_by_role("tab", name="Distill").click()
            a.locator("#distill-cancel").click()
            expect(status_a).to_contain_text("Cancelled at step", timeout=120_000)
        finally:
            browser.close()
