"""The first screen: "How it works" (story, diagram, papers, a guided path whose buttons open
the tabs), pre-made examples shown and loaded with no compute, the demo teacher named;
queues that keep cheap actions off the compute queue; ZeroGPU's decorator; MCP tools;
the README's Spaces header and section."""

import importlib.util
import json
import threading
import re
import socket
import sys
from pathlib import Path

import gradio as gr
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import app as app_module  # noqa: E402
from components import examples, gpu, how_it_works  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402


@pytest.fixture(scope="module")
def blocks():
    return app_module.build_app()


def _fns(blocks):
    return list(blocks.fns.values())


def test_examples_are_committed_small_and_name_real_settings():
    folder = examples.EXAMPLES_DIR
    listed = examples.load()
    assert len(listed) >= 2
    assert sum(p.stat().st_size for p in folder.iterdir()) < 1_000_000
    names = demo_teacher().class_names
    for ex in listed:
        assert set(ex["settings"]["classes"]) <= set(names) and 0 <= ex["settings"]["strength"] <= 0.5
        for s in ex["samples"]:
            assert (folder / s["guided"]).is_file() and (folder / s["unguided"]).is_file()
            assert 0 <= s["p_guided"] <= 1 and 0 <= s["p_unguided"] <= 1
        assert "guided" in ex["judges"] or "unavailable" in ex["judges"]
        # every shown example was picked by the judges, and says how many batches that took
        assert ex["chosen"]["all_judges_agree"] and all(
            j["agreement"] == 1.0 for j in ex["judges"]["guided"]["judges"])
        assert f"batch {ex['chosen']['tries']} was the first tried" in examples.example_html(ex)


def test_first_screen_needs_no_compute(monkeypatch):
    """Building the page and its examples never samples, loads a backbone or fits judges."""
    import dfkd_core.diffusion as diffusion
    import dfkd_core.methods.diffdfkd.sampler as guidance

    def forbidden(*a, **k):
        raise AssertionError("compute at page load")
    monkeypatch.setattr(guidance, "guided_sample", forbidden)
    monkeypatch.setattr(diffusion, "load_backbone_cached", forbidden)
    examples.load.cache_clear()
    html = examples.gallery_html()
    assert html.count('<img src="data:image/png;base64,') == 2 * sum(len(e["samples"]) for e in examples.load())
    card = re.search(r'<figure class="dfkd-card">(.*?)</figure>', html).group(1)
    assert card.index("<figcaption>") > card.rindex("<img")  # the caption sits under the images
    app_module.build_app()


def test_how_it_works_story_diagram_papers_and_demo_teacher(blocks):
    svg = how_it_works.diagram_svg()
    order = [svg.index(part) for part in ("Teacher", "Guided sampler", "Samples", "Judges / filter", "Student")]
    assert order == sorted(order)
    for arxiv in ("2504.00870", "2410.17606", "2412.13525"):  # checked against arxiv.org listings
        assert f"https://arxiv.org/abs/{arxiv}" in how_it_works.METHODS
    for method in ("DiffDFKD", "Latent CutMix", "DDA", "cosine filter", "HiDFD"):
        assert method in how_it_works.METHODS
    text = json.dumps(blocks.get_config_file(), default=str)
    assert "No teacher loaded" not in text
    assert "Using the demo teacher (WRN-16-2, Fashion-MNIST)" in text


def test_guided_path_buttons_open_each_tab(blocks):
    tabs = next(b for b in blocks.blocks.values() if isinstance(b, gr.Tabs))
    tab_ids = {b.id for b in blocks.blocks.values() if isinstance(b, gr.Tab)}
    assert tabs.selected == "how"
    opened = [fn.fn().selected for fn in _fns(blocks) if [o._id for o in fn.outputs] == [tabs._id]]
    assert opened == [tab for tab, _ in how_it_works.STEPS] and set(opened) <= tab_ids


def test_example_buttons_fill_the_samples_controls_and_open_the_tab(blocks):
    fills = [fn for fn in _fns(blocks) if (fn.name or "").startswith("fill")]  # (page-only events have none)
    assert len(fills) == len(examples.load())
    for fn, ex in zip(fills, examples.load()):
        *values, status, tab = fn.fn()
        assert tuple(values) == examples.control_values(ex) and tab.selected == "samples"
        assert ex["title"] in status
        assert [o.label for o in fn.outputs[:3]] == ["Classes", "Samples per class", "Guidance strength"]


HEAVY = {"distill", "hidfd_train", "hidfd_send", "settings_sweep", "distill_student"}
PREVIEW = {"generate_samples", "watch_trajectory", "make_variations", "compute_scores", "evaluate_teacher",
           "generate_guided_samples", "score_sample_set", "compare_runs"}
CHEAP = {"load_teacher", "add_to_sample_set", "cancel_samples", "cancel_distill", "hidfd_cancel", "cancel_variations",
         "refresh_runs", "save_variations", "show_sources", "rethreshold", "inspect_sample", "export_kept"}


def test_heavy_work_and_previews_run_in_separate_pools_and_cheap_actions_in_neither(blocks):
    """Finding: one visitor's GAN or distillation held the one compute slot, so every other
    visitor's Generate waited minutes. Heavy work and previews now have pools of their own,
    where each job waits in its line (components/line.py: place, cancel, per-visitor limit)."""
    from components import line
    by_name = {fn.api_name: fn for fn in _fns(blocks) if fn.api_name}
    assert HEAVY | PREVIEW | CHEAP <= set(by_name)
    for names, pool in ((HEAVY, line.HEAVY_POOL), (PREVIEW, line.PREVIEW_POOL)):
        for name in names:
            assert (by_name[name].concurrency_id, by_name[name].concurrency_limit) == (pool, line.POOL_SIZE), name
    others = [fn for fn in _fns(blocks) if fn.api_name not in HEAVY | PREVIEW]
    assert all(fn.concurrency_id not in (line.HEAVY_POOL, line.PREVIEW_POOL) for fn in others)
    assert line.HEAVY.slots == 1 and line.HEAVY.per_visitor == 1 and line.PREVIEW.slots == 2


def test_the_line_says_each_place_and_its_wait_and_keeps_one_heavy_job_per_visitor():
    from types import SimpleNamespace

    from components.line import Line, LeftTheLine, duration, ordinal
    from dfkd_core import DfkdError
    heavy = Line("heavy", slots=1, per_visitor=1, typical_s={"a distillation": 180, "a GAN training": 240})
    a, b, c = (SimpleNamespace(session_hash=s) for s in "abc")
    running = heavy.join(a, "a GAN training")
    assert list(running.wait()) == []  # a free slot: its turn at once
    first, second = heavy.join(b, "a distillation"), heavy.join(c, "a distillation")
    with heavy.changed:  # (place_text and eta_s read the line under its lock)
        assert heavy.place_text(first).startswith("**1st in line** for heavy work (running now: a GAN training)")
        assert heavy.place_text(second).startswith("**2nd in line**") and "about 7 min" in heavy.place_text(second)
        assert 230 <= heavy.eta_s(first) <= 240 and 410 <= heavy.eta_s(second) <= 420  # the GAN, then the first
    with pytest.raises(DfkdError, match="already have a distillation in the heavy line"):
        heavy.join(b, "a sweep")  # one heavy job per visitor
    stop = threading.Event()
    stop.set()
    with pytest.raises(LeftTheLine):
        list(second.wait(stop))  # Cancel while waiting: out of the line, nothing ran
    assert second not in heavy.waiting
    running.leave()
    assert list(first.wait()) == [] and first in heavy.running
    first.leave()
    assert not heavy.running and not heavy.waiting
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == ["1st", "2nd", "3rd", "4th", "11th", "12th",
                                                                      "13th", "21st", "22nd"]
    assert duration(12) == "about 10 s" and duration(170) == "about 3 min"


def test_gpu_decorator_is_a_no_op_without_spaces_and_requests_a_gpu_on_spaces(monkeypatch):
    def work(x):
        return x + 1
    monkeypatch.setattr(gpu, "spaces", None)
    assert gpu.gpu(60)(work) is work
    granted = []

    class FakeSpaces:
        @staticmethod
        def GPU(duration):
            granted.append(duration)
            return lambda fn: (lambda *a: ("on gpu", fn(*a)))
    monkeypatch.setattr(gpu, "spaces", FakeSpaces)
    assert gpu.gpu(gpu.SAMPLING_S)(work)(1) == ("on gpu", 2) and granted == [gpu.SAMPLING_S]
    assert gpu.SAMPLING_S <= 120 and gpu.TRAINING_S <= 300  # within ZeroGPU's grants


def test_readme_spaces_header_matches_gradio_and_has_a_deploy_section():
    readme = (ROOT / "README.md").read_text()
    header = readme.split("---")[1]
    assert re.search(r'sdk_version: "?([\d.]+)"?', header).group(1) == gr.__version__
    assert "app_file: app.py" in header
    section = readme.split("## Deploying to Hugging Face Spaces")[1].split("\n## ")[0]
    for word in ("ZeroGPU", "CPU", "DFKD_MCP=1", "spaces.GPU"):
        assert word in section


def test_mcp_is_asked_for_by_dfkd_mcp(monkeypatch):
    for value, asked in (("1", True), ("yes", True), ("", False), ("0", False)):
        monkeypatch.setenv("DFKD_MCP", value)
        assert app_module.mcp_requested() is asked


@pytest.mark.skipif(importlib.util.find_spec("mcp") is None,
                    reason="the `mcp` package is not installed: pip install 'mcp>=1.21,<2' (a dependency in "
                           "pyproject.toml; gradio[mcp] would also pin pydantic<=2.12.5)")
def test_mcp_server_lists_the_three_tools_with_their_docstrings():
    import httpx
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = app_module.build_app()
    demo.queue()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, mcp_server=True)
    try:
        tools = httpx.get(f"http://127.0.0.1:{port}/gradio_api/mcp/schema", timeout=30).json()
    finally:
        demo.close()
    by_name = {t["name"]: t for t in tools}
    for name, words in (("generate_guided_samples", "teacher-guided"), ("score_sample_set", "texture-proof"),
                        ("distill_student", "Distil a student")):
        assert name in by_name and words in by_name[name]["description"], name
        assert "request" not in json.dumps(by_name[name]["inputSchema"])  # Gradio's, not the client's
    assert "classes" in json.dumps(by_name["generate_guided_samples"]["inputSchema"])
