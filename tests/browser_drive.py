"""What the browser tests do on a page (Playwright, sync API): open a tab (a phone folds some
into a menu), type into number boxes, and drive the Filter tab (scores, a click, a box drawn
over the scatter) and the Variations tab (pick, make, add)."""

import re

from browser_checks import CUT_FIGURES_JS

NEWEST = "browser-dda"  # made last, so every dropdown preselects it


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
