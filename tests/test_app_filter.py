"""The Variations and Filter tabs through gradio_client (demo teacher, a sample set whose
v1 variations are exact copies of their sources, a tiny prior as a local folder)."""

import base64
import json

import numpy as np
import pytest
from dda_kit import store_with_variations
from gradio_client import Client
from tiny_models import tiny_pixel_prior

from dfkd_core.data.store import SampleStore
from dfkd_core.demo import demo_teacher

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


def _values(v) -> list:
    """Plotly's JSON holds arrays as lists or as base64 typed arrays."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def _points(plot) -> int:
    return sum(len(_values(trace["x"])) for trace in json.loads(plot["plot"])["data"])


def test_scores_view_rethreshold_inspect_and_export(client, sample_set, runs_dir):
    plot, bars, summary, gallery = client.predict(SET, "Teacher features", "", "PCA", -1.0, 0.0, "kept / dropped",
                                                  "dropped", api_name="/compute_scores")
    assert _points(plot) == 30 and "**30 of 30 kept**" in summary and gallery == []
    plot, bars, summary, gallery = client.predict(1.0, 0.0, "kept / dropped", "dropped", api_name="/rethreshold")
    traces = json.loads(plot["plot"])["data"]
    assert [t["name"] for t in traces] == ["kept (20)", "dropped (10)"]
    assert "**20 of 30 kept**" in summary
    assert len(gallery) == 10 and all("-v2 · cos" in item["caption"] for item in gallery)
    assert [_values(b["y"]) for b in json.loads(bars["plot"])["data"]] == [[2] * 10, [1] * 10]
    sample, source, table = client.predict("c003-s0-v2", api_name="/inspect_sample")
    rows = dict(table["data"])
    assert rows["source_id"] == "c003-s0" and float(rows["cosine"]) < 1 and rows["kept"] == "False"
    assert sample and source
    message, _ = client.predict("dda-kept", api_name="/export_kept")
    assert "Exported 20 kept samples" in message
    assert len(SampleStore(runs_dir / "sample-sets" / "dda-kept").manifest()) == 20
    with pytest.raises(Exception, match="already exists"):
        client.predict("dda-kept", api_name="/export_kept")
    with pytest.raises(Exception, match="not allowed"):
        client.predict("../escape", api_name="/export_kept")


def test_variations_beside_their_source_and_saved_into_the_set(client, sample_set, prior):
    sources, picked = client.predict(SET, api_name="/show_sources")
    assert picked["value"] == [] and len(picked["choices"]) == 10  # the set's sources to choose from
    assert len(sources) == 10 and sources[0]["caption"] == "c000-s0 · T-shirt/top"
    # the set holds v1 and v2 of every source, made otherwise: the engine's clash check refuses
    # to remake them (they were silently replaced before); making and saving new ones: test_app_input
    with pytest.raises(Exception, match="already holds variations made with other DDA settings"):
        client.predict(SET, ["c000-s0", "c004-s0"], "Local folder", prior, 0.3, 2, 6, 0.0, 0,
                       api_name="/make_variations")
    assert sample_set.manifest().set_index("id").loc["c000-s0-v1", "strength"] == 0.5
    with pytest.raises(Exception, match="no source samples"):
        client.predict(SET, ["c000-s0-v1"], "Local folder", prior, 0.3, 2, 6, 0.0, 0, api_name="/make_variations")
