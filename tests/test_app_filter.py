"""The Variations and Filter tabs through gradio_client (demo teacher, a sample set whose
v1 variations are exact copies of their sources, a tiny prior as a local folder)."""

import re

import pytest
from dda_kit import store_with_variations
from gradio_client import Client
from tiny_models import tiny_pixel_prior

from dfkd_core.store import SampleStore
from dfkd_core.teacher.demo import demo_teacher

SET = "dda-app-test"


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def sample_set(runs_dir):
    return store_with_variations(runs_dir / "sample-sets" / SET, names=demo_teacher().class_names, per_class=1)


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    return str(tiny_pixel_prior(tmp_path_factory.mktemp("prior")))


def test_scores_view_rethreshold_inspect_and_export(client, sample_set, runs_dir):
    plot, summary, bars, gallery = client.predict(SET, "Teacher features", "", "PCA", 1.0, 0.0, "kept / dropped",
                                                  "dropped", api_name="/compute_scores")
    assert plot.count("data-id=") == 30 and "**20 of 30 kept**" in summary
    assert "kept (20)" in plot and "dropped (10)" in plot  # the legend: one entry per colour, and per marker
    assert "source</span>" in plot and "variation</span>" in plot
    assert gallery.count("<figure data-id=") == 10
    assert len(re.findall(r'data-id="c\d{3}-s0-v2"', gallery)) == 10  # the dropped ones: every v2
    assert bars is not None
    plot, summary = client.predict(-1.0, 0.0, "kept / dropped", api_name="/rethreshold")
    assert "**30 of 30 kept**" in summary and "kept (30)" in plot and plot.count("data-id=") == 30
    images, table = client.predict("c003-s0-v2", api_name="/inspect_sample")
    rows = dict(table["data"])
    assert rows["source"] == "c003-s0" and rows["class (target)"] == "Dress" and rows["kept"] == "yes"
    assert re.fullmatch(r"-?\d\.\d{3}", rows["cos(sample, source)"])  # 3 decimals, not 9
    assert re.fullmatch(r"\d{1,3}\.\d %", rows["teacher p(target)"])
    assert rows["teacher predicts"] in demo_teacher().class_names  # a class name, not an index
    assert images.count("<img") == 2 and "its source: c003-s0" in images  # the sample beside its source
    message = client.predict("dda-kept", api_name="/export_kept")
    assert "Exported 30 kept samples" in message
    assert len(SampleStore(runs_dir / "sample-sets" / "dda-kept").manifest()) == 30
    with pytest.raises(Exception, match="already exists"):
        client.predict("dda-kept", api_name="/export_kept")
    with pytest.raises(Exception, match="not allowed"):
        client.predict("../escape", api_name="/export_kept")


def test_hover_thumbnails_only_for_samples_of_listed_sets(sample_set):
    from components.filter_tab import thumbnail
    assert thumbnail(f"{SET}\nc000-s0").startswith("data:image/png;base64,")
    assert thumbnail(f"{SET}\nno-such-id") is None
    assert thumbnail("../../etc\npasswd") is None and thumbnail(None) is None


def test_scatter_markup_marks_the_selected_sample_and_escapes_names():
    import numpy as np
    import pandas as pd

    from components.scatter_svg import scatter_html
    scores = pd.DataFrame({"id": ["a", "b<"], "class_name": ["x&y", "z"], "target": [0, 1], "cosine": [0.5, np.nan],
                           "teacher_prob": [0.9, 0.1], "kept": [True, False], "variation": [1, 0]})
    markup = scatter_html(scores, np.array([[0.0, 0.0], [1.0, 1.0]]), "class", "pca", "set", selected="a")
    assert 'data-id="a"' in markup and 'class="selected"' in markup and "b&lt;" in markup and "x&amp;y" in markup
    assert markup.index('data-id="b&lt;"') < markup.index('data-id="a"')  # the selected one is drawn on top


def test_variations_beside_their_source_and_saved_into_the_set(client, sample_set, prior):
    sources, picked = client.predict(SET, api_name="/show_sources")
    assert picked["value"] == [] and len(picked["choices"]) == 10  # the set's sources to choose from
    assert sources.count("<figure") == 10 and "<figcaption>c000-s0<br>T-shirt/top</figcaption>" in sources
    # the set holds v1 and v2 of every source, made otherwise: the engine's clash check refuses
    # to remake them (they were silently replaced before); making and saving new ones: test_app_input
    with pytest.raises(Exception, match="already holds variations made with other DDA settings"):
        client.predict(SET, ["c000-s0", "c004-s0"], "Local folder", prior, 0.3, 2, 6, 0.0, 0,
                       api_name="/make_variations")
    assert sample_set.manifest().set_index("id").loc["c000-s0-v1", "strength"] == 0.5
    with pytest.raises(Exception, match="no source samples"):
        client.predict(SET, ["c000-s0-v1"], "Local folder", prior, 0.3, 2, 6, 0.0, 0, api_name="/make_variations")


def test_variations_cancel_stops_the_job_and_keeps_no_batch(runs_dir, prior):
    from types import SimpleNamespace

    import torch

    from components import variations_tab
    from dfkd_core.methods.base import label_with_teacher
    from dfkd_core.methods.dda.variations import source_rows
    teacher = demo_teacher()
    store = SampleStore(runs_dir / "sample-sets" / "vary-cancel")
    store.add(label_with_teacher(teacher, torch.rand(2, 1, 32, 32), [0, 1], "noise"), teacher.class_names,
              {"class_names": teacher.class_names})
    picked = list(source_rows(store)["id"])[:1]
    session = SimpleNamespace(session_hash="vary-cancel")  # what gr.Request tells the handler
    outputs = []
    for out in variations_tab.vary_ui(None, "vary-cancel", picked, "Local folder", prior, 0.9, 2, 60, 0.0, 0,
                                      request=session):
        outputs.append(out)
        if len(outputs) == 1:  # the first denoising step is done: click Cancel
            assert variations_tab.cancel_ui(session).startswith("Cancelling")
    gallery, summary, last, add = outputs[-1]
    assert "Cancelled at step" in summary and last is None  # "Add" cannot save a cancelled batch
    assert gallery["visible"] is False and gallery["value"] == "" and add["visible"] is False
    assert len(store.manifest()) == 2  # nothing was added
    assert variations_tab.cancel_ui(session) == "Nothing of yours is running."


def test_a_box_selection_dropped_by_hand_stays_dropped_whatever_omega_says():
    import numpy as np
    import pandas as pd

    from components import filter_selection, filter_tab
    from dfkd_core.filter.scores import apply_thresholds
    scores = pd.DataFrame({"id": ["a", "b", "c"], "source_id": ["s", "s", "s"], "variation": [1, 1, 1],
                           "target": [0, 0, 0], "class_name": ["x", "x", "x"], "cosine": [0.95, 0.5, 0.99],
                           "teacher_prob": [0.9, 0.9, 0.9], "entropy": [0.1] * 3, "teacher_pred": [0] * 3})
    scores.attrs["embedding"] = "teacher"
    state = {"scores": apply_thresholds(scores, 0.9, 0.0), "xy": np.arange(6.0).reshape(3, 2), "method": "pca",
             "label": "set", "note": "", "picked": ["a", "b"]}
    state, plot, summary, text = filter_selection.hand_ui(state, "kept / dropped", keep=False)
    assert "**1 of 3 kept**" in summary and "2 kept or dropped by hand" in summary
    assert "**2 selected**: 0 kept, 2 dropped" in text and plot.count('class="picked"') == 2
    state, plot, summary = filter_tab.rethreshold_ui(state, -1.0, 0.0, "kept / dropped")  # ω lets every cosine in
    assert list(state["scores"]["kept"]) == [False, False, True] and "**1 of 3 kept**" in summary
    state, *_ = filter_selection.hand_ui(state, "kept / dropped", keep=True)
    assert state["scores"]["kept"].all()
