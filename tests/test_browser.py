"""A person's path through the app in Debian's Chromium, driven by Playwright: one session
walks every tab at 1440x900 and at 390x844, saves a screenshot of each tab at both sizes in
$DFKD_SCREENSHOTS (default runs/screenshots/), and drives the tabs' main actions with tiny
budgets: the sample-set dropdowns are filled on a fresh page, a scatter click shows the
sample, a box dragged over the scatter selects its points (on a phone after "Select area"),
variations show their captions under the images and "Add" only when there is something to
add, the HiDFD grid labels all 10 classes with no table borders, the Distill chart is in %
with its reference lines, and a cancelled distillation leaves no finished run. Layout checks
(tests/browser_checks.py): no cut-off source row, card row or chart, no wrapped header, and
a "No run yet" line where empty Distill charts and tables were."""

import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from browser_checks import CUT_FIGURES_JS, INNER_SCROLL_JS, WIDE_PLOTS_JS, WRAPPED_HEADERS_JS
from conftest import ROOT, needs_fmnist
from dda_kit import store_with_variations

from dfkd_core.methods.base import label_with_teacher
from dfkd_core.pipeline.runs import runs_table
from dfkd_core.store import SampleStore
from dfkd_core.teacher.demo import demo_teacher

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
TABS = ["How it works", "Teacher", "Samples", "Variations", "Filter", "Distill", "HiDFD"]
NEWEST = "browser-dda"  # made last, so every dropdown preselects it
pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_fmnist,
              pytest.mark.skipif(not shutil.which("chromium"), reason="Debian chromium not installed")]


@pytest.fixture(scope="module")
def screenshots() -> Path:
    folder = Path(os.environ.get("DFKD_SCREENSHOTS") or ROOT / "runs" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def sample_sets(runs_dir):
    teacher = demo_teacher()
    noise = SampleStore(runs_dir / "sample-sets" / "browser-noise")
    noise.add(label_with_teacher(teacher, torch.rand(20, 1, 32, 32, generator=torch.Generator().manual_seed(0)),
                                 list(range(20)), "noise"), teacher.class_names,
              {"class_names": teacher.class_names})
    return store_with_variations(runs_dir / "sample-sets" / NEWEST, names=teacher.class_names, per_class=2, size=32)


def open_tab(page, name: str) -> None:
    """Click a tab; on a phone Gradio folds the tabs that do not fit into a "…" menu."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if not tab.is_visible():
        page.locator(".overflow-menu button, button.overflow-menu").first.click()
        tab = page.locator(".overflow-dropdown button, .overflow-item-button").filter(has_text=name).first
    tab.click()
    page.wait_for_timeout(400)


def set_number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input[type='number']")
    box.fill(str(value))
    box.press("Enter")


def drive_filter(page, expect):
    open_tab(page, "Filter")
    page.locator("#filter-sets input").first.click()  # (the Variations drive made browser-noise the newest)
    page.get_by_role("option", name=NEWEST, exact=True).click()
    page.get_by_label("PCA", exact=True).check()
    page.locator("#filter-compute").click()
    expect(page.locator("#filter-summary")).to_contain_text("of 60 kept", timeout=120_000)
    point = page.locator("#filter-scatter [data-id]").last  # drawn on top of any twin
    sample_id = point.get_attribute("data-id")
    point.hover()
    expect(page.locator("#filter-scatter .tip img")).to_have_attribute("src", re.compile("^data:image/png"), timeout=30_000)
    point.click()
    expect(page.locator("#filter-sample img")).to_have_count(2, timeout=30_000)  # the sample beside its source
    expect(page.locator("#filter-details")).to_contain_text(sample_id)
    expect(page.locator(f"#filter-scatter [data-id='{sample_id}']")).to_have_class("selected")
    box_select(page, expect)


# points whose centre lies in the left half of the scatter: what a box over that half must select
LEFT_HALF_JS = """() => {
  const svg = document.querySelector('#filter-scatter svg[data-set]'), r = svg.getBoundingClientRect();
  const ids = new Set();
  svg.querySelectorAll('[data-id]').forEach((q) => {
    const b = q.getBoundingClientRect();
    if ((b.left + b.right) / 2 < r.left + r.width / 2) ids.add(q.dataset.id);
  });
  return ids.size;
}"""


def settled_box(page, locator, tries: int = 50) -> dict:
    """The locator's bounding box once two reads 100 ms apart agree (galleries and charts above it
    may still be loading on a busy machine)."""
    box = locator.bounding_box()
    for _ in range(tries):
        page.wait_for_timeout(100)
        again = locator.bounding_box()
        if again == box:
            return box
        box = again
    return box


def box_select(page, expect):
    """Drag a box over the left half of the scatter: its points are picked and counted, shown
    in the gallery, and "Drop selected" drops them whatever ω says."""
    if page.viewport_size["width"] < 700:  # a phone: dragging scrolls the page until "Select area" is on
        page.locator("#filter-scatter .mode").click()
        expect(page.locator("#filter-scatter .mode")).to_have_attribute("aria-pressed", "true")
    svg = page.locator("#filter-scatter svg[data-set]")
    svg.scroll_into_view_if_needed()
    box = settled_box(page, svg)  # a drag begun while the layout still moves picks a smaller box
    expected = page.evaluate(LEFT_HALF_JS)
    assert 0 < expected < 60
    page.mouse.move(box["x"] + 1, box["y"] + 1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 1, steps=5)
    page.mouse.up()
    expect(page.locator("#filter-scatter .picked-count")).to_have_text(f"{expected} selected")
    expect(page.locator("#filter-selection")).to_contain_text(f"{expected} selected", timeout=30_000)
    expect(page.locator("#filter-gallery figure")).to_have_count(min(expected, 48))
    page.locator("#filter-drop-selected").click()
    expect(page.locator("#filter-selection")).to_contain_text(f"0 kept, {expected} dropped", timeout=30_000)
    expect(page.locator("#filter-summary")).to_contain_text(f"{expected} kept or dropped by hand")
    expect(page.locator("#filter-scatter .picked")).to_have_count(expected)  # still shown after the redraw


def drive_variations(page, expect):
    open_tab(page, "Variations")
    add = page.locator("#variations-add")
    expect(add).to_be_hidden()  # nothing to add yet
    page.locator("#variations-sets input").first.click()
    page.get_by_role("option", name="browser-noise", exact=True).click()
    # a seed >= 10: a source of browser-noise, not of the set listed before it (its grid is replaced)
    first = page.locator("#variations-sources figure").filter(has_text=re.compile(r"-s1\d")).first
    expect(first).to_be_visible(timeout=30_000)
    assert page.evaluate(CUT_FIGURES_JS, "#variations-sources .grid") == 0  # its last row is not cut off
    expect(page.locator("#variations-sources .more")).to_contain_text("20 sources; scroll the box")
    first.click()
    expect(first).to_have_class("selected")
    expect(page.locator("#variations-picked")).to_contain_text(first.get_attribute("data-id"), timeout=30_000)
    expect(page.locator("#variations-sources figcaption").first).to_be_visible()
    for label, value in (("Variations per sample", 1), ("Denoising steps (of a whole trajectory)", 5)):
        set_number_by_label(page, label, value)
    page.get_by_role("button", name="Make variations").click()
    expect(page.locator("#variations-summary")).to_contain_text("1 variation at s =", timeout=120_000)
    expect(add).to_be_visible()
    image, tag = page.locator("#variations-results img").nth(1), page.locator("#variations-results .tag").nth(1)
    expect(tag).to_contain_text("cos")
    assert tag.bounding_box()["y"] >= image.bounding_box()["y"] + image.bounding_box()["height"] - 1  # under it
    add.click()
    expect(page.locator("#variations-saved")).to_contain_text("Added 1 variation to", timeout=30_000)
    expect(add).to_be_hidden()  # added: nothing left to add


def set_number_by_label(page, label: str, value) -> None:
    box = page.get_by_label(f"number input for {label}")
    box.fill(str(value))
    box.press("Enter")
    assert box.input_value() == str(value)


def drive_distill(page, expect, runs_dir):
    open_tab(page, "Distill")
    name = page.locator("#distill-run-name textarea, #distill-run-name input").first.input_value()
    assert re.fullmatch(r"student-\d+", name)
    set_number(page, "distill-epochs", 50)
    page.locator("#distill-launch").click()
    expect(page.locator("#distill-status")).to_contain_text("step", timeout=120_000)
    bar = page.locator("#distill-status progress")  # the fraction of the whole run's steps, never 100 % early
    expect(bar).to_be_attached()
    assert float(bar.get_attribute("value")) < 100
    expect(page.locator("#distill-curves")).to_be_visible(timeout=120_000)  # drawn from the first epoch on
    page.locator("#distill-cancel").click()
    expect(page.locator("#distill-status")).to_contain_text("Cancelled at step", timeout=120_000)
    curves = page.locator("#distill-curves")
    expect(curves).to_contain_text("teacher 94.1 %")
    expect(curves).to_contain_text("wrn_16_1 trained on real data 93.1 %")
    expect(curves).to_contain_text("100 %")  # the accuracy axis runs 0-100 %
    expect(curves.locator("text").filter(has_text=re.compile("^epoch$"))).to_have_count(1)  # no title over another
    if runs_table().empty:  # a cancelled run is not listed as finished
        expect(page.locator("#distill-no-runs")).to_be_visible()
    else:
        expect(page.locator("#distill-runs")).not_to_contain_text(name)
    assert not (runs_dir / "distill" / name / "results.json").exists()  # not finished
    assert not list((runs_dir / "distill" / name).glob("*/student.safetensors"))


def drive_hidfd(page, expect):
    open_tab(page, "HiDFD")
    set_number(page, "hidfd-how-many", 2)
    page.get_by_label("per teacher-predicted class").check()
    set_number(page, "hidfd-steps", 2)
    page.locator("#hidfd-train").click()
    expect(page.locator("#hidfd-status")).to_contain_text("Done after", timeout=180_000)
    rows = page.locator("#hidfd-grid [role=rowheader]")
    expect(rows).to_have_count(10)
    assert rows.all_inner_texts() == demo_teacher().class_names
    assert page.evaluate(WRAPPED_HEADERS_JS, "#hidfd-freq") == 0  # "images" was broken in two on a phone
    borders = page.evaluate("""() => [...document.querySelectorAll('#hidfd-grid .class-grid, #hidfd-grid .class-grid *')]
        .map((e) => getComputedStyle(e)).filter((s) => parseFloat(s.borderTopWidth) > 0 && s.borderTopStyle !== 'none'
        || parseFloat(s.borderLeftWidth) > 0 && s.borderLeftStyle !== 'none').length""")
    assert borders == 0  # a clean grid, no table borders
    images = page.locator("#hidfd-grid [role=row]").first.locator("img")
    last = images.last.bounding_box()
    assert last["x"] + last["width"] <= page.viewport_size["width"]  # the whole row is on the page
    assert images.first.bounding_box()["width"] >= (80 if page.viewport_size["width"] > 700 else 32)


def walk(page, expect, folder: Path, size: str) -> None:
    for name in TABS:
        open_tab(page, name)
        assert page.evaluate(WIDE_PLOTS_JS) == 0, name  # every chart fits its block
        page.screenshot(path=str(folder / f"{size}-{name.lower().replace(' ', '-')}.png"), full_page=True)


def test_every_tab_at_both_sizes(app_url, sample_sets, runs_dir, screenshots):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport=dict(zip(("width", "height"), SIZES["desktop"])))
            page.goto(app_url)
            expect(page.get_by_role("tab", name="Teacher")).to_be_visible(timeout=30_000)
            open_tab(page, "Teacher")
            page.locator("#load-teacher").click()
            expect(page.locator("#teacher-status")).to_contain_text("Loaded wrn_16_2", timeout=60_000)
            expect(page.locator("#teacher-card")).to_contain_text("94.12 %")
            assert page.evaluate(INNER_SCROLL_JS, "#teacher-card") == 0  # every row of the card shows
            for tab in ("Variations", "Filter", "Distill"):  # a fresh page, no refresh clicked
                open_tab(page, tab)
                expect(page.locator(f"#{tab.lower()}-sets input").first).to_have_value(NEWEST, timeout=10_000)
            # before the first run: a line saying what to do, not empty chart and table boxes
            expect(page.locator("#distill-status")).to_contain_text("No run yet")
            expect(page.locator("#distill-curves")).to_be_hidden()
            if runs_table().empty:  # other test files of the session may have finished runs already
                expect(page.locator("#distill-runs")).to_be_hidden()
                expect(page.locator("#distill-no-runs")).to_contain_text("none finished yet")
            else:
                expect(page.locator("#distill-runs")).to_be_visible()
            drive_filter(page, expect)
            drive_variations(page, expect)
            drive_distill(page, expect, runs_dir)
            drive_hidfd(page, expect)
            walk(page, expect, screenshots, "desktop")
            open_tab(page, "Teacher")
            page.locator("#evaluate-teacher").click()
            page.locator("#teacher-cancel").click()
            expect(page.locator("#teacher-accuracy")).to_contain_text("Cancelled", timeout=60_000)
            phone = browser.new_page(viewport=dict(zip(("width", "height"), SIZES["phone"])))
            phone.goto(app_url)
            expect(phone.get_by_role("tab", name="Teacher")).to_be_visible(timeout=30_000)
            drive_filter(phone, expect)
            drive_hidfd(phone, expect)
            walk(phone, expect, screenshots, "phone")
            open_tab(phone, "Teacher")
            assert phone.evaluate(INNER_SCROLL_JS, "#teacher-card") == 0
        finally:
            browser.close()
    assert {f"{size}-{tab.lower().replace(' ', '-')}.png" for size in SIZES for tab in TABS} <= {p.name for p in screenshots.glob("*.png")}
