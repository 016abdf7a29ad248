"""The Samples tab: through gradio_client on a tiny prior given as a local folder, and its
functions directly (layout, pairs with captions under the images, sweep, filmstrip,
judges' warning, Cancel that keeps no batch)."""

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio_client import Client
from tiny_models import tiny_pixel_prior

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from components import samples_tab, samples_views  # noqa: E402
from dfkd_core.diffusion import load_backbone_cached  # noqa: E402
from dfkd_core.errors import Cancelled
from dfkd_core.judges.batch import recognisability_warning  # noqa: E402
from dfkd_core.methods.diffdfkd.config import GuidanceConfig  # noqa: E402
from dfkd_core.methods.diffdfkd.preview import compare_job, filmstrip_frames, strength_rows  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    return str(tiny_pixel_prior(tmp_path_factory.mktemp("prior")))


def _args(prior, **kw):
    return {**dict(backbone_kind="Local folder", backbone_path=prior, classes=["Trouser", "Bag"], per_class=2,
                   strength=0.5, bn=0.0, steps=6, window_start=0.0, window_end=1.0, mode="x0", candidates=2, every=2,
                   eta=0.0, seed=7, use_cutmix=True, cutmix_step=2, cutmix_alpha=1.0), **kw}


def _images(html):
    return re.findall(r'<img src="data:image/png;base64,', html)


def test_generate_streams_previews_and_pairs_each_seed_with_its_unguided_sample(client, prior):
    job = client.submit(**_args(prior), api_name="/generate_samples")
    outputs = list(job)
    status, pairs, filmstrip, _sweep, cutmix = job.outputs()[-1][:5]
    assert len(outputs) >= 3  # previews came before the result
    assert "guided vs" in status
    # one card per seed: guided | unguided side by side, the caption under both images
    cards = re.findall(r'<figure class="dfkd-card">(.*?)</figure>', pairs)
    assert len(cards) == 4 and all(len(_images(c)) == 2 for c in cards)
    assert all(c.index("<figcaption>") > c.rindex("<img") for c in cards)
    assert "Trouser · seed" in cards[0] and "Bag · seed" in cards[3] and "guided p=" in cards[0]
    assert "unguided p=" in cards[0]
    assert "x̂0" not in pairs  # the finished pairs replaced the forming images
    assert len(_images(filmstrip)) >= 3 and "step 6/6" in filmstrip
    assert cutmix.count("<img") == 8 and cutmix.count("<figcaption>") == 4  # partner + result per mixed sample


def test_add_to_sample_set_and_bad_names(client, prior, runs_dir):
    client.predict(**_args(prior, use_cutmix=False, every=1, eta=1.0), api_name="/generate_samples")
    msg = client.predict("demo-set", api_name="/add_to_sample_set")
    assert "Added 4 samples" in msg
    assert len(list((runs_dir / "sample-sets" / "demo-set" / "images").glob("*.png"))) == 4
    with pytest.raises(Exception, match="not allowed"):
        client.predict("../escape", api_name="/add_to_sample_set")


def test_bad_backbone_is_reported(client):
    with pytest.raises(Exception, match="No diffusion model found"):
        client.predict(**_args("/nonexistent/prior"), api_name="/generate_samples")


def test_strength_sweep_rows_share_seeds_and_strength_zero_is_unguided(prior):
    teacher, backbone = demo_teacher(), load_backbone_cached(prior)
    cfg, reported = GuidanceConfig(steps=4, candidates=1), []
    rows = strength_rows(backbone, teacher, [1, 8], [3, 4], cfg, [0.0, 0.5], reported.append, lambda: False)
    assert [s for s, _ in rows] == [0.0, 0.5] and [r[1] for r in reported] == [0.0, 0.5]
    assert all(b.seeds == [3, 4] for _, b in rows)
    assert not rows[0][1].images.equal(rows[1][1].images)  # guidance changed the images
    html = samples_views.sweep_row_html(0.5, rows[1][1], teacher.class_names)
    assert html.startswith('<div class="dfkd-row">') and "strength 0.5: mean p" in html and len(_images(html)) == 2
    judged = {"judges": [{"kind": "texture-proof", "agreement": 0.25}, {"kind": "network", "agreement": 1.0}]}
    assert "texture-proof judges 25%" in samples_views.sweep_row_html(0.5, rows[1][1], teacher.class_names, judged)


def test_sweep_ui_streams_one_row_per_strength(prior):
    out = list(samples_tab.sweep_ui(None, ["Trouser", "Bag", "Coat"], "0, 0.2", 1, 4, 0.0, "x0", 1, 1,
                                    samples_tab.LOCAL, prior))
    rows, _note = out[-1]
    assert rows.count('class="dfkd-row"') == 2 and len(_images(rows)) == 6
    assert out[0][1] == ""  # a new sweep clears the last job's cancel note
    with pytest.raises(gr.Error, match="strengths"):
        list(samples_tab.sweep_ui(None, ["Bag"], "0,0.1,0.2,0.3,0.4,0.5,0.6", 1, 4, 0.0, "x0", 1, 1,
                                  samples_tab.LOCAL, prior))


def test_filmstrip_keeps_evenly_spaced_frames_and_the_last():
    frames = [(i, 25, None) for i in range(1, 26, 2)]
    picked = filmstrip_frames(frames, 6)
    assert len(picked) == 6 and picked[0] == frames[0] and picked[-1] == frames[-1]
    assert filmstrip_frames(frames[:3], 6) == frames[:3]


def test_warning_when_the_teacher_is_sure_but_texture_proof_judges_disagree():
    judges = {"teacher": {"kind": "network", "agreement": 1.0},
              "pixel_knn": {"kind": "texture-proof", "agreement": 0.1},
              "pca_linear": {"kind": "texture-proof", "agreement": 0.3}}
    assert "texture-proof judges agree only 20%" in recognisability_warning(judges)
    judges["pixel_knn"]["agreement"] = judges["pca_linear"]["agreement"] = 0.8
    assert recognisability_warning(judges) is None
    judges["teacher"]["agreement"], judges["pixel_knn"]["agreement"] = 0.5, 0.0
    assert recognisability_warning(judges) is None  # the teacher is not sure: nothing to contradict


def test_judges_table_sits_beside_the_teachers_p_with_the_warning(prior):
    teacher, backbone = demo_teacher(), load_backbone_cached(prior)
    g, u = compare_job(backbone, teacher, [1, 8], [0, 1], GuidanceConfig(steps=3, candidates=1), lambda item: None,
                       lambda: False)
    judged = {k: {"judges": [{"label": "teacher (wrn_16_2)", "kind": "network", "agreement": a},
                             {"label": "pixel kNN", "kind": "texture-proof", "agreement": 0.0}],
                  "warning": "W!" if k == "guided" else None} for k, a in (("guided", 1.0), ("unguided", 0.0))}
    html = samples_views.judges_html(g, u, judged)
    assert "teacher&#x27;s mean p(target)" in html and "pixel kNN (texture-proof)" in html
    assert html.index('id="judges-warning"') < html.index("<table")
    assert "Judges unavailable: no data" in samples_views.judges_html(g, u, None, "no data")


def test_layout_generate_at_the_top_expert_settings_in_advanced_eta_default_matches_hint():
    with gr.Blocks() as demo:
        samples_tab.build(gr.State(None))
    config = demo.get_config_file()["components"]
    by_id = {c["id"]: c for c in config}
    order = [c["id"] for c in config]
    generate = next(c for c in config if c["props"].get("elem_id") == "generate-samples")
    advanced = next(c for c in config if c["type"] == "accordion" and c["props"].get("label") == "Advanced settings")
    assert order.index(generate["id"]) < order.index(advanced["id"])
    labels_after = [by_id[i]["props"].get("label") for i in order[order.index(advanced["id"]):]]
    for expert in ("Denoising steps", "Sampler noise (eta)", "BN-statistics weight (bn)", "Candidate starts"):
        assert expert in labels_after
    eta = next(c for c in config if c["props"].get("label") == "Sampler noise (eta)")["props"]
    assert eta["value"] == 1.0 and "Default 1" in eta["info"] and "1 gives cleaner" in eta["info"]


def _session(name):
    return SimpleNamespace(session_hash=name)


def _generate(prior, session, steps=40):
    return samples_tab.generate_ui(None, ["Trouser", "Bag"], 1, 0.2, samples_tab.LOCAL, prior, 0.0, steps, 0.0, 1.0,
                                   "x0", 1, 1, 0.0, 5, False, 0, 1.0, request=session)


def test_cancel_says_where_it_stopped_and_keeps_no_batch(prior):
    session = _session("samples-cancel")
    finished = list(_generate(prior, session, steps=4))
    assert finished[-1][5] is not None  # a finished batch is the one to add
    outputs = []
    for out in _generate(prior, session):
        outputs.append(out)
        if "step 3/" in str(out[0]):  # a preview of the third step: click Cancel
            assert samples_tab.cancel_ui(session).startswith("Cancel requested")
    assert outputs[0][5] is None  # starting a new job already dropped the previous batch
    assert outputs[0][6] == "" and all(o[6] != "" for o in outputs[1:])  # and the last cancel note, only then
    assert re.search(r"Cancelled at step \d+ of 40 \(guided pass\)", outputs[-1][0])
    assert all(o[5] is None for o in outputs)  # the cancelled job never offered a batch
    with pytest.raises(gr.Error, match="Generate a batch first"):
        samples_tab.add_ui(None, "never-added")
    assert samples_tab.cancel_ui(session) == "Nothing of yours is running."


def test_compare_job_cancelled_names_the_step(prior):
    calls = iter([False, False, True])
    with pytest.raises(Cancelled, match="Cancelled at step 2 of 5"):
        compare_job(load_backbone_cached(prior), demo_teacher(), [1], [0], GuidanceConfig(steps=5, candidates=1),
                    lambda item: None, lambda: next(calls))


def test_a_stop_asked_for_during_the_last_step_still_cancels(prior):
    calls = iter([False] * 10 + [True])  # 5 guided steps, 5 unguided, then the Cancel lands
    with pytest.raises(Cancelled, match="Cancelled at step 5 of 5 \\(unguided pass\\)"):
        compare_job(load_backbone_cached(prior), demo_teacher(), [1], [0], GuidanceConfig(steps=5, candidates=1),
                    lambda item: None, lambda: next(calls))
