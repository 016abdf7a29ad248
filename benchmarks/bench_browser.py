"""In-browser timings of the app, measured in Debian's Chromium through Playwright (not a
test: timings vary with the machine). Each bench_* function serves the app on its own
fresh runs folder, measures one thing and returns its figures; run them all with

    .venv/bin/python benchmarks/bench_browser.py [NAME ...]

bench_recolour: the Filter tab's recolour after an ω change, from the slider moved in the
page to the scatter showing the new ω, timed by the page's own clock (target: <= 0.3 s).
bench_first_examples: page load (navigation start) -> the first pre-made example image
visible on the "How it works" tab (target: <= 3 s; inlined PNGs, no compute). The examples
are in the page's initial config (no load event, no queue); what the page waits for is
Gradio's front end fetching one JS module per component type before its first paint.
bench_first_generate: the first Generate after the server starts (as `python app.py` starts
it, warming the models in the background), from the click to the samples shown (target:
<= 5 s): clicked once the server is warm (a visitor of a running Space), and clicked as soon
as the button shows (it then waits for the warm-up it overlaps), with the seconds from the
start to that click.
bench_generate_beside_distill: Generate (the Samples tab's defaults) alone, then while a
second browser session distils (previews and heavy work run in separate pools: the
Generate never waits for the distillation, it only shares the CPU with it).
Each bench runs in a fresh process. Each line ends with the 1-minute load average before ->
after: on this shared 2-core machine the figures move with it."""

import contextlib
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


@contextlib.contextmanager
def served_app(prepare=None, warm: bool = False):
    """The app of app.py on a free port, writing into a fresh runs folder; prepare(runs_dir)
    runs first (to put sample sets there); warm: as `python app.py` starts it (app.warm_up)."""
    os.environ["DFKD_RUNS_DIR"] = tempfile.mkdtemp(prefix="dfkd-bench-browser-")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    if prepare:
        prepare(Path(os.environ["DFKD_RUNS_DIR"]))
    from app import build_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = build_app(warm=warm)
    app.queue(default_concurrency_limit=2)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


@contextlib.contextmanager
def browser_page(width=1440, height=900):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def _variations_set(runs_dir: Path, per_class: int = 20) -> None:
    from dda_kit import store_with_variations

    from dfkd_core.teacher.demo import demo_teacher
    store_with_variations(runs_dir / "sample-sets" / "bench-dda", names=demo_teacher().class_names,
                          per_class=per_class, size=32)


def bench_recolour(trials: int = 10) -> dict:
    """Seconds from an ω change (typed into the slider's box) to the scatter redrawn for it."""
    from playwright.sync_api import expect
    with served_app(_variations_set) as url, browser_page() as page:
        page.goto(url)
        page.get_by_role("tab", name="Filter", exact=True).click()
        expect(page.locator("#filter-sets input").first).to_have_value("bench-dda", timeout=30_000)
        page.get_by_label("PCA", exact=True).check()
        page.locator("#filter-compute").click()
        expect(page.locator("#filter-scatter [data-id]").first).to_be_visible(timeout=300_000)
        points = page.locator("#filter-scatter [data-id]").count()
        page.evaluate(TIMER_JS)
        seconds = []
        for i in range(trials):  # moved as a drag does: the range input's input and change events
            omega = f"{0.5 + 0.04 * (i + 1):.2f}"
            page.evaluate(MOVE_JS, omega)
            page.wait_for_function("window.recolour.drawn", polling="raf", timeout=30_000)
            seconds.append(page.evaluate("(window.recolour.drawn - window.recolour.changed) / 1000"))
    return {"points": points, "trials": trials, "median_s": statistics.median(seconds), "max_s": max(seconds)}


def bench_first_examples(trials: int = 5) -> dict:
    """Seconds from navigation start to the first example image visible, on fresh pages (the
    first load, which also fills the server's caches, is not counted)."""
    from playwright.sync_api import sync_playwright
    seconds = []
    with served_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            for _ in range(trials + 1):
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(url, wait_until="commit")
                page.locator("#example-gallery img").first.wait_for(state="visible", timeout=60_000)
                seconds.append(page.evaluate("performance.now()") / 1000)  # counted from navigation start
                page.close()
        finally:
            browser.close()
    return {"trials": trials, "median_s": statistics.median(seconds[1:]), "max_s": max(seconds[1:])}


# page-side clocks: ω's slider moved, and the scatter's markup showing the new ω (Playwright's own
# round trips to the browser are not the app's time)
TIMER_JS = """() => {
  window.recolour = {};
  new MutationObserver(() => {
    const title = document.querySelector('#filter-scatter .title');
    if (window.recolour.changed && !window.recolour.drawn && title?.textContent.includes(window.recolour.target))
      window.recolour.drawn = performance.now();
  }).observe(document.querySelector('#filter-scatter'), {childList: true, subtree: true});
}"""
MOVE_JS = """(omega) => {
  window.recolour = {target: 'ω = ' + omega, changed: performance.now()};
  const range = document.querySelector('#filter-omega input[type=range]');
  range.value = omega;
  range.dispatchEvent(new Event('input', {bubbles: true}));
  range.dispatchEvent(new Event('change', {bubbles: true}));
}"""


def _generate_seconds(page) -> float:
    """Seconds from a click on Generate to its samples shown (the status's summary)."""
    from playwright.sync_api import expect
    status = page.locator("#samples-status")
    t0 = time.monotonic()
    page.locator("#generate-samples").click()
    expect(status).not_to_contain_text("guided vs", timeout=60_000)  # (the last batch's summary goes first)
    expect(status).to_contain_text("guided vs", timeout=300_000)
    return time.monotonic() - t0


def _first_generate(wait_for_warm: bool) -> dict:
    from components import warming
    started = time.monotonic()
    with served_app(warm=True) as url, browser_page() as page:
        page.goto(url)
        page.get_by_role("tab", name="Samples").click()
        page.locator("#generate-samples").wait_for(state="visible")
        if wait_for_warm:
            warming.WARM.wait(timeout=600)
        clicked = time.monotonic() - started
        first, second = _generate_seconds(page), _generate_seconds(page)
    return {"clicked_after_start_s": clicked, "first_s": first, "second_s": second}


def bench_first_generate() -> dict:
    """The first Generate after start, clicked once the warm-up is done (a running Space)."""
    return _first_generate(wait_for_warm=True)


def bench_first_generate_at_once() -> dict:
    """The first Generate after start, clicked as soon as the button shows (during the warm-up)."""
    return _first_generate(wait_for_warm=False)


def _long_set(runs_dir: Path) -> None:
    import torch

    from dfkd_core.methods.base import label_with_teacher
    from dfkd_core.methods.writer import add_to_sample_set
    from dfkd_core.teacher.demo import demo_teacher
    teacher = demo_teacher()
    images = torch.rand(1000, 1, 32, 32, generator=torch.Generator().manual_seed(5))
    add_to_sample_set("bench-long", label_with_teacher(teacher, images, list(range(1000)), "noise"), teacher,
                      {"class_names": teacher.class_names})


def bench_generate_beside_distill(trials: int = 3) -> dict:
    """Generate alone, then while another session distils (1,000 images, cancelled after)."""
    from playwright.sync_api import expect, sync_playwright
    with served_app(_long_set, warm=True) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            gen, dist = (browser.new_page(viewport={"width": 1440, "height": 900}) for _ in range(2))
            for page in (gen, dist):
                page.goto(url)
            gen.get_by_role("tab", name="Samples").click()
            _generate_seconds(gen)  # (the first, warming what warm_up left)
            alone = [_generate_seconds(gen) for _ in range(trials)]
            dist.get_by_role("tab", name="Distill").click()
            expect(dist.locator("#distill-sets input").first).to_have_value("bench-long", timeout=30_000)
            box = dist.locator("#distill-epochs input[type='number']")
            box.fill("200")
            box.press("Enter")
            dist.locator("#distill-launch").click()
            expect(dist.locator("#distill-status")).to_contain_text("step", timeout=120_000)
            beside = [_generate_seconds(gen) for _ in range(trials)]
            still = "step" in dist.locator("#distill-status").inner_text()
            dist.locator("#distill-cancel").click()
            expect(dist.locator("#distill-status")).to_contain_text("Cancelled", timeout=300_000)
        finally:
            browser.close()
    return {"trials": trials, "alone_median_s": statistics.median(alone),
            "beside_distill_median_s": statistics.median(beside),
            "ratio": statistics.median(beside) / statistics.median(alone), "distilling_throughout": still}


BENCHES = {"recolour": bench_recolour, "first_examples": bench_first_examples, "first_generate": bench_first_generate,
           "first_generate_at_once": bench_first_generate_at_once,
           "generate_beside_distill": bench_generate_beside_distill}


def main(names):
    """Each bench in a process of its own: a start-up figure is a cold start, and no bench finds
    the models another one loaded."""
    import subprocess
    for name in names or BENCHES:
        subprocess.run([sys.executable, __file__, "--one", name], check=True)


def one(name):
    before = os.getloadavg()[0]
    result = BENCHES[name]()
    result["load_1min"] = f"{before:.2f} -> {os.getloadavg()[0]:.2f}"  # timings mean little without it
    print(f"{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items()),
          flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2])
    else:
        main(sys.argv[1:])
