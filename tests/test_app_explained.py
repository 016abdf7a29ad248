"""Every control starts in a state that works and says what it does: defaults, ranges and
help come from the engine's settings declarations (as the CLI's do); every symbol the app
shows is in the glossary; warnings where a result cannot be trusted; the header names the
teacher in use; the first Generate finds the models warm."""

import re
import sys
import threading
from dataclasses import fields
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import app as app_module  # noqa: E402
from components import glossary, hidfd_views, teacher_tab  # noqa: E402
from dfkd_core.distill.config import DistillSettings  # noqa: E402
from dfkd_core.methods.dda.config import DDAConfig  # noqa: E402
from dfkd_core.methods.diffdfkd.config import GuidanceConfig  # noqa: E402
from dfkd_core.methods.hidfd.config import GANConfig  # noqa: E402
from dfkd_core.settings import declaration  # noqa: E402

INPUTS = ("slider", "number", "radio", "dropdown", "checkbox", "checkboxgroup", "textbox")


@pytest.fixture(scope="module")
def components():
    return app_module.build_app().get_config_file()["components"]


def _by_label(components, label):
    found = [c["props"] for c in components if c["props"].get("label") == label]
    assert found, label
    return found[0]


def test_every_control_says_what_it_does(components):
    silent = [c["props"].get("label") for c in components if c["type"] in INPUTS and not c["props"].get("info")]
    assert silent == []


@pytest.mark.parametrize("label, cls, name", [
    ("Guidance strength", GuidanceConfig, "strength"), ("BN-statistics weight (bn)", GuidanceConfig, "bn"),
    ("Candidate starts", GuidanceConfig, "candidates"), ("Strength s (0: the source, 1: from noise)", DDAConfig,
                                                         "strength"),
    ("Variations per sample", DDAConfig, "variations"), ("Epochs", DistillSettings, "epochs"),
    ("Temperature T", DistillSettings, "temperature"), ("Mode-seeking weight (diversity)", GANConfig, "ms"),
    ("Batch size", GANConfig, "batch_size"), ("ω: keep when cos(sample, source) ≥ ω", None, "omega")])
def test_defaults_ranges_and_help_come_from_the_settings_declarations(components, label, cls, name):
    from dfkd_core.filter.config import FilterSettings
    cls = cls or FilterSettings
    f = next(f for f in fields(cls) if f.name == name)
    d, props = declaration(f), _by_label(components, label)
    if cls is not GANConfig or name != "batch_size":  # (two tabs have a "Batch size": the first is the GAN's)
        assert props["value"] == f.default
    assert d["help"].split(" (")[0].lower() in props["info"].lower()
    if d["low"] is not None:
        assert props["minimum"] >= d["low"]
    if d["high"] is not None:
        assert props["maximum"] <= d["high"]


def test_every_symbol_shown_is_in_the_glossary():
    """Greek letters and hatted symbols in any text of the app, and the jargon it uses, each
    have a glossary entry (the visitors' list: x̂0, eta, ω, τ, nats, EMA, λ, Beta(α, α))."""
    terms = {term for term, _ in glossary.GLOSSARY}
    text = "\n".join(p.read_text() for p in (ROOT / "components").glob("*.py") if p.name != "glossary.py")
    symbols = set(re.findall(r"x̂0|ᾱ_t|z_t|[\u0370-\u03ff]", text)) - {"η"}
    assert symbols and symbols <= terms | {"α", "λ", "ω", "τ"}, symbols - terms
    jargon = {"EMA", "nats", "eta", "DDIM", "SDEdit", "kNN", "PCA", "UMAP", "KD", "CE", "SimKD", "mixup", "ADC",
              "Fréchet", "x̂0", "λ", "ω", "τ", "α", "Beta(α, α)", "p(target)", "texture-proof"}
    assert {j for j in jargon if j in text} <= terms
    assert "<dt>Beta(α, α)</dt>" in glossary.glossary_html()


def test_the_glossary_is_in_how_it_works(components):
    assert any(c["props"].get("elem_id") == "glossary" and "x̂0" in c["props"]["value"] for c in components)


def test_the_teacher_fields_start_empty_and_load_as_they_stand(components, tmp_path):
    """Finding: "Number of classes" started at 0 and loading failed ("Value 0 is less than
    minimum value 2"). It starts empty, has no minimum, is filled in from the file, and an
    empty or 0 box means "read it from the weights"."""
    from dfkd_core.models.zoo import build_model
    props = next(c["props"] for c in components if c["props"].get("elem_id") == "teacher-classes")
    assert props.get("value") is None and props.get("minimum") is None
    path = tmp_path / "cifar10_resnet8.pth"
    torch.save({"state_dict": build_model("resnet8", 10, 3).state_dict()}, path)
    arch, classes, note = teacher_tab.facts_ui([str(path)])
    assert arch["value"] == "resnet8" and classes["value"] == 10 and "Read from the file: resnet8, 10" in note
    for empty in (None, 0):
        spec, _card, status = teacher_tab.load_teacher_ui(teacher_tab.UPLOAD, [str(path)], None, empty)
        assert "Loaded **resnet8**" in status and spec["num_classes"] is None
    assert "your teacher" in teacher_tab.header_text(spec) and "resnet8" in teacher_tab.header_text(spec)
    assert teacher_tab.header_text(None).startswith("Using the demo teacher")


def test_the_header_follows_the_loaded_teacher():
    app = app_module.build_app()
    header = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "app-intro")
    deps = [fn for fn in app.fns.values() if [o._id for o in fn.outputs] == [header._id]]
    assert [fn.fn.__name__ for fn in deps] == ["header_text"]


def test_a_collapsed_gan_class_is_named_above_its_grid():
    names = [f"class {i}" for i in range(10)]
    images = torch.rand(80, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    images[8 * 7:8 * 8] = 0.0  # the Sneaker row of the visitors' run: all black
    grid = hidfd_views.class_grid(images, names, step=300)
    assert grid.index('role="alert"') < grid.index('class="class-grid"')
    assert "collapsed 1 class: class 7 (near-black images)" in grid
    assert "role=\"alert\"" not in hidfd_views.class_grid(torch.rand(80, 1, 32, 32), names, step=300)
    assert "EMA" in grid and "average of its recent weights" in grid  # the jargon explained where it sits


def test_omega_says_when_it_changes_nothing():
    import pandas as pd

    from components import filter_views
    scores = pd.DataFrame({"id": ["a", "b"], "kept": [True, True], "variation": [0, 0]})
    scores.attrs.update(omega=0.9, tau=0.0, embedding="teacher")
    assert "⚠ ω changes nothing on this set" in filter_views.summary({"scores": scores, "note": ""})
    scores["variation"] = [0, 1]
    assert "⚠" not in filter_views.summary({"scores": scores, "note": ""})


def test_warm_up_loads_what_the_first_generate_needs(monkeypatch, capsys):
    from components import warming
    calls = []
    monkeypatch.setattr(warming, "load_backbone_cached", lambda source: calls.append(("backbone", source)))
    monkeypatch.setattr(warming, "compare_job", lambda backbone, teacher, targets, seeds, cfg, **kw: calls.append(
        ("sample", targets, cfg.steps)) or ("guided", "unguided"))
    monkeypatch.setattr(warming, "judge_batch", lambda teacher, batch: calls.append(("judges", batch)))
    monkeypatch.setattr(warming, "WARM", threading.Event())
    warming.warm_up()
    assert [c[0] for c in calls] == ["backbone", "sample", "judges"]
    assert calls[1][1:] == ([0, 0, 1, 1, 2, 2, 3, 3], 25)  # the Samples tab's first batch, as it stands
    assert "warm after" in capsys.readouterr().out and warming.WARM.is_set()


def test_phone_buttons_scroll_to_their_result():
    app = app_module.build_app()
    scrolls = [fn.js for fn in app.fns.values() if fn.fn is None and fn.js and "scrollIntoView" in fn.js]
    for elem_id in ("samples-status", "trajectory-status", "sweep-status", "distill-status", "hidfd-status",
                    "variations-summary", "filter-summary"):
        assert any(f"#{elem_id}'" in js for js in scrolls), elem_id
    assert all("window.innerWidth >= 700" in js for js in scrolls)  # a wide screen is left alone
