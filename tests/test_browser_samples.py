"""The first screen and the Samples tab in Debian's Chromium (Playwright), at 1440x900 and
390x844: examples shown without compute, Generate in the first viewport and its result
brought into view on a phone, pairs, filmstrip, watching one sample form (strips, chart,
step slider), a settings grid of two settings, the CutMix step's range following the
steps, nothing wider than the screen, Cancel leaving no batch to add. Screenshots go to
$DFKD_SCREENSHOTS (default runs/screenshots/)."""

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest
from browser_checks import HEAVY_BORDERS_JS, INNER_SCROLL_JS
from conftest import needs_fmnist

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
HEAVY = {"generate_samples", "settings_sweep", "watch_trajectory", "distill", "hidfd_train", "hidfd_send",
         "make_variations", "compute_scores", "evaluate_teacher", "generate_guided_samples", "distill_student",
         "score_sample_set", "compare_runs"}
WIDER_THAN_SCREEN_JS = "() => document.scrollingElement.scrollWidth - window.innerWidth"
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not shutil.which("chromium"), reason="Debian chromium not installed")]


def shots() -> Path:
    folder = Path(os.environ.get("DFKD_SCREENSHOTS") or "runs/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _page(browser, size, app_url, joins=None):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    if joins is not None:  # the endpoint of every queued job the page starts
        page.on("request", lambda r: joins.append(json.loads(r.post_data)["fn_index"])
                if "/queue/join" in r.url else None)
    page.goto(app_url)
    return page


@pytest.mark.parametrize("size", SIZES)
def test_first_screen_shows_examples_without_compute_and_generate_is_in_view(browser, app_url, size):
    from playwright.sync_api import expect
    joins = []
    page = _page(browser, size, app_url, joins)
    expect(page.locator("#example-gallery img").first).to_be_visible(timeout=30_000)
    expect(page.locator("#how-diagram svg:visible")).to_have_count(1)
    assert page.locator("#example-gallery figcaption").count() >= 4
    assert page.evaluate(INNER_SCROLL_JS, "#example-gallery") == 0  # no card cut off by a scroll box
    if size == "desktop":  # beside the story, in the first viewport (a phone shows the story first)
        expect(page.locator(".load-example").first).to_be_in_viewport()
    page.screenshot(path=str(shots() / f"how-it-works-{size}.png"))
    page.screenshot(path=str(shots() / f"how-it-works-{size}-full.png"), full_page=True)
    page.get_by_role("tab", name="Samples").click()
    button = page.locator("#generate-samples")
    expect(button).to_be_visible()
    box, scroll = button.bounding_box(), page.evaluate("window.scrollY")
    assert scroll == 0 and box["y"] >= 0 and box["y"] + box["height"] <= SIZES[size][1]  # first viewport
    # the pre-made pairs fill the results area before any Generate, with captions under 128-px images
    assert page.locator("#samples-pairs figure").count() >= 4
    if size == "desktop":
        assert page.locator("#samples-pairs img").first.bounding_box()["width"] >= 128
    page.screenshot(path=str(shots() / f"samples-{size}.png"))
    names = {d["id"]: d["api_name"] for d in httpx.get(app_url + "config", timeout=30).json()["dependencies"]}
    assert not {names[i] for i in joins} & HEAVY  # nothing was computed to show any of it (lists may load)


def _set_number(page, label, value):
    """Type a number into a slider's box; again if the field was still mounting (a just-opened
    accordion renders its children then, with their stored values)."""
    field = page.get_by_label(f"number input for {label}")
    for _ in range(3):
        field.fill(str(value))
        field.press("Enter")
        page.wait_for_timeout(300)
        if field.input_value() == str(value):
            return
    raise AssertionError(f"{label} kept {field.input_value()!r}, not {value}")


def _plotted(page, selector):
    """Wait for a Plotly chart to be drawn (its library loads on first use)."""
    page.locator(f"{selector} .main-svg").first.wait_for(state="attached", timeout=60_000)


@needs_fmnist
@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES)
def test_generate_watch_a_sample_form_settings_grid_and_cancel_leaves_no_stale_batch(browser, app_url, size):
    from playwright.sync_api import expect
    page = _page(browser, size, app_url)
    page.locator(".load-example").first.click()  # one click: the example's settings, the Samples tab
    expect(page.locator("#samples-status")).to_contain_text("Loaded the settings", timeout=10_000)
    page.locator("#generate-samples").click()
    expect(page.locator("#samples-status")).to_contain_text("guided vs", timeout=180_000)
    # finding: on a phone the results appeared ~800 px below the button, off screen
    expect(page.locator("#samples-status")).to_be_in_viewport()
    if size == "phone":
        expect(page.locator("#samples-pairs figure").first).to_be_in_viewport()
    page.screenshot(path=str(shots() / f"samples-generated-{size}.png"))
    assert page.locator("#samples-pairs figure").count() == 4
    expect(page.locator("#filmstrip img")).to_have_count(5)
    expect(page.locator("#samples-pairs table")).to_contain_text("texture-proof")
    # a light table like the others: row lines only, figures in %
    assert page.evaluate(HEAVY_BORDERS_JS, "#samples-pairs table") == 0
    for cell in page.locator("#samples-pairs table td.num").all_inner_texts():
        assert cell.endswith("%"), cell

    # watch one sample form: both rows at every step, the chart, and a step slider that scrubs
    page.locator("#watch-form").click()
    expect(page.locator("#trajectory-status")).to_contain_text("At the last step", timeout=180_000)
    expect(page.locator("#trajectory-status")).to_be_in_viewport()
    expect(page.locator("#trajectory-strip .traj-strip figure")).to_have_count(50)  # 25 steps x 2 passes
    expect(page.locator("#trajectory-view")).to_contain_text("pixel kNN's class (texture-proof)")
    _plotted(page, "#trajectory-chart")
    _set_number(page, "Step", 5)
    expect(page.locator("#trajectory-view")).to_contain_text("x̂0 at step 5 of 25", timeout=10_000)
    expect(page.locator("#trajectory-strip figure.now")).to_have_count(2)
    page.locator("#trajectory-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(shots() / f"samples-trajectory-{size}.png"), full_page=True)
    assert page.evaluate(WIDER_THAN_SCREEN_JS) <= 0  # nothing needs sideways scrolling

    # a grid of two settings: rows x columns, every class in each cell, every judge under it
    page.get_by_label("Row values").fill("0, 0.16")
    page.locator("#sweep-cols input").first.click()
    page.get_by_role("option", name="eta", exact=True).click()
    page.get_by_label("Column values").fill("0, 1")
    page.locator("#run-sweep").click()
    expect(page.locator("#sweep-status")).to_contain_text("Done", timeout=300_000)
    cells = page.locator("#sweep .cell")
    expect(cells).to_have_count(4)
    expect(cells.first).to_contain_text("kNN")
    expect(cells.first).to_contain_text("PCA-lin")
    expect(page.locator("#sweep")).to_contain_text("eta 1")
    if size == "phone":  # the cells stack, each with its own settings, and fit the screen
        expect(cells.nth(3).locator(".celllabel")).to_have_text("strength 0.16, eta 1")
    assert page.evaluate(WIDER_THAN_SCREEN_JS) <= 0
    page.locator("#sweep-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(shots() / f"samples-results-{size}.png"), full_page=True)

    page.get_by_text("Advanced settings").click()
    expect(page.get_by_label("number input for Denoising steps")).to_be_visible()
    _set_number(page, "Denoising steps", 10)  # finding: the CutMix step went to 99 for a 25-step trajectory
    expect(page.get_by_label("number input for CutMix at step")).to_have_attribute("max", "9", timeout=10_000)
    _set_number(page, "Denoising steps", 100)
    page.locator("#generate-samples").click()
    expect(page.locator("#samples-status")).to_contain_text("Guided pass: step", timeout=60_000)
    page.locator("#cancel-samples").click()
    # finding: the notice was a pop-up; it is now a line under the buttons
    expect(page.locator("#samples-cancel-note")).to_contain_text("Cancel requested", timeout=10_000)
    expect(page.locator("#samples-cancel-note")).to_be_visible()
    expect(page.locator(".toast-body")).to_have_count(0)
    page.locator("#cancel-samples").scroll_into_view_if_needed()
    page.screenshot(path=str(shots() / f"samples-cancelling-{size}.png"))
    expect(page.locator("#samples-status")).to_contain_text("Cancelled at step", timeout=60_000)
    page.get_by_label("Sample set").fill("browser-cancelled")
    page.locator("#add-samples").click()  # the finished batch before the cancelled one is not offered either
    expect(page.get_by_text("Generate a batch first")).to_be_visible(timeout=10_000)
    page.screenshot(path=str(shots() / f"samples-cancelled-{size}.png"))


def any_sample_set() -> bool:
    from dfkd_core.pipeline.runs import sample_sets
    return bool(sample_sets())


def test_a_mistake_is_shown_on_its_own_tab_only(browser, app_url, capfd):
    """Finding: gr.Error pop-ups followed the user to every tab. A mistake now shows in the
    status line of the tab where it happened, with no pop-up and no traceback in the log."""
    from playwright.sync_api import expect
    page = _page(browser, "desktop", app_url)
    page.get_by_role("tab", name="Samples").click()
    for _ in range(3):  # again if the boxes were still mounting (they come back checked then)
        for box in page.locator("#classes input[type=checkbox]").all():
            box.uncheck()
        page.wait_for_timeout(500)
        if page.locator("#classes input:checked").count() == 0:
            break
    expect(page.locator("#classes input:checked")).to_have_count(0)
    page.locator("#generate-samples").click()
    expect(page.locator("#samples-status")).to_contain_text("⚠ Pick at least one class", timeout=30_000)
    page.get_by_role("tab", name="Filter").click()
    if any_sample_set():  # the tab lists the sets when it opens: typed before that, the name was replaced
        expect(page.locator("#filter-sets input").first).not_to_have_value("", timeout=30_000)
    page.locator("#filter-sets input").first.fill("no-such-set")
    page.locator("#filter-sets input").first.blur()  # its open option list would cover the button
    page.locator("#filter-compute").click()
    expect(page.locator("#filter-summary")).to_contain_text("⚠ Pick a sample set", timeout=30_000)
    expect(page.get_by_text("Pick at least one class")).to_be_hidden()  # the Samples tab's mistake stays there
    expect(page.locator(".toast-body")).to_have_count(0)
    expect(page.locator("[data-testid='status-tracker'] .error:visible")).to_have_count(0)  # no red badges
    page.get_by_role("tab", name="Samples").click()
    expect(page.get_by_text("Pick a sample set")).to_be_hidden()
    # a field's own check (an emptied number box): in its tab too, no pop-up (it was a 10-s toast)
    page.get_by_role("tab", name="Variations").click()
    page.locator("#variations-seed input").fill("")
    page.get_by_role("button", name="Make variations").click()
    expect(page.locator("#variations-summary")).to_contain_text("⚠ Seed: enter a number", timeout=30_000)
    expect(page.locator(".toast-body")).to_have_count(0)
    assert "Traceback" not in capfd.readouterr().err
