"""The Samples tab: through gradio_client on a tiny prior given as a local folder, and its
functions directly (layout, pairs with captions under the images, the settings grid, the
filmstrip, watching one sample form, judges' warning, slider ranges that follow the steps,
Cancel that keeps no batch, also while the job waits in line)."""

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio_client import Client
from tiny_models import tiny_pixel_prior

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from components import line, samples_config, samples_tab, samples_views, sweep_panel, trajectory_panel  # noqa: E402
from dfkd_core.diffusion import load_backbone_cached  # noqa: E402
from dfkd_core.errors import Cancelled  # noqa: E402
from dfkd_core.judges.batch import recognisability_warning  # noqa: E402
from dfkd_core.methods.diffdfkd.config import GuidanceConfig  # noqa: E402
from dfkd_core.methods.diffdfkd.preview import compare_job, filmstrip_frames  # noqa: E402
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
    status, pairs, filmstrip, cutmix = job.outputs()[-1][:4]
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


SETTINGS = dict(strength=0.5, bn=0.0, steps=3, window_start=0.0, window_end=1.0, mode="x0", candidates=1, every=1,
                eta=0.0, use_cutmix=False, cutmix_step=0, cutmix_alpha=1.0)


def test_settings_grid_streams_cells_of_every_class_with_every_judge(prior):
    out = list(sweep_panel.sweep_ui(None, "strength", "0, 0.5", "steps", "2, 3", 1, 0, *SETTINGS.values(),
                                    samples_config.LOCAL, prior, request=_session("grid")))
    status, grid = out[-1][0], next(o[1] for o in reversed(out) if isinstance(o[1], str))
    assert status.startswith("**Done**: 40 images")  # 2 x 2 cells x 10 classes x 1 seed
    assert grid.count('class="cell"') == 4 and len(_images(grid)) == 4 and "to come" not in grid
    assert "strength 0.5, steps 3" in grid  # each cell's own label (shown on a phone)
    assert any("Cell 1 of 4 done" in str(o[0]) for o in out)  # streamed cell by cell
    assert "a column per class (T-shirt/top" in grid
    with pytest.raises(gr.Error, match="1-6 values of strength"):
        list(sweep_panel.sweep_ui(None, "strength", "0,0.1,0.2,0.3,0.4,0.5,0.6", sweep_panel.NONE, "", 1, 0,
                                  *SETTINGS.values(), samples_config.LOCAL, prior))
    with pytest.raises(gr.Error, match="at most 720"):
        list(sweep_panel.sweep_ui(None, "strength", "0,0.1,0.2,0.3,0.4,0.5", "steps", "2,3,4,5,6,7", 4, 0,
                                  *SETTINGS.values(), samples_config.LOCAL, prior))


def test_watch_a_sample_form_streams_steps_then_a_scrubbable_trajectory(prior):
    out = list(trajectory_panel.watch_ui(None, "Bag", 3, *SETTINGS.values(), samples_config.LOCAL, prior,
                                         request=_session("watch")))
    steps = [o for o in out if "pass: step" in str(o[0])]
    assert [o[0].split(":")[0] for o in steps] == ["Unguided pass"] * 3 + ["Guided pass"] * 3  # streamed as it forms
    summary, state, strip, chart, slider, view = out[-1]
    assert "Bag, seed 3" in summary and len(state["frames"]) == 3
    assert strip["value"].count("<img") == 6 and "p(Bag)" in strip["value"]  # both rows, every step
    assert slider["maximum"] == 3 and slider["value"] == 3 and chart["visible"] and view["visible"]
    assert "x̂0 at step 3 of 3" in view["value"] and "guidance is <b>on</b>" in view["value"]
    strip1, view1 = trajectory_panel.scrub_ui(state, 1)
    assert "x̂0 at step 1 of 3" in view1 and 'class="now"' in strip1
    assert trajectory_panel.scrub_ui(None, 2) == (gr.skip(), gr.skip())


def test_the_cutmix_step_and_guidance_window_follow_the_other_settings():
    assert samples_config.cutmix_range(25, 40) == gr.update(maximum=24, value=24)  # a step of the trajectory
    assert samples_config.cutmix_range(10, 5) == gr.update(maximum=9, value=5)
    assert samples_config.window_pair(0.2, 0.8, "start") == (gr.skip(), gr.skip())
    assert samples_config.window_pair(0.9, 0.8, "start") == (gr.skip(), gr.update(value=0.9))
    assert samples_config.window_pair(0.9, 0.8, "end") == (gr.update(value=0.8), gr.skip())


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
    assert eta["value"] == GuidanceConfig().eta == 0.0 and "Default 0 (DDIM)" in eta["info"]
    candidates = next(c for c in config if c["props"].get("label") == "Candidate starts")["props"]
    assert candidates["minimum"] <= GuidanceConfig().candidates == candidates["value"] <= candidates["maximum"]
    step = next(c for c in config if c["props"].get("label") == "CutMix at step")["props"]
    steps = next(c for c in config if c["props"].get("label") == "Denoising steps")["props"]
    assert step["maximum"] == steps["value"] - 1  # not 99 for a 25-step trajectory


def _session(name):
    return SimpleNamespace(session_hash=name)


def _generate(prior, session, steps=40):
    return samples_tab.generate_ui(None, ["Trouser", "Bag"], 1, 0.2, samples_tab.LOCAL, prior, 0.0, steps, 0.0, 1.0,
                                   "x0", 1, 1, 0.0, 5, False, 0, 1.0, request=session)


def test_cancel_says_where_it_stopped_and_keeps_no_batch(prior):
    session = _session("samples-cancel")
    finished = list(_generate(prior, session, steps=4))
    assert finished[-1][4] is not None  # a finished batch is the one to add
    outputs = []
    for out in _generate(prior, session):
        outputs.append(out)
        if "step 3/" in str(out[0]):  # a preview of the third step: click Cancel
            assert samples_tab.cancel_ui(session).startswith("Cancel requested")
    assert outputs[0][4] is None  # starting a new job already dropped the previous batch
    assert outputs[0][5] == "" and all(o[5] != "" for o in outputs[1:])  # and the last cancel note, only then
    assert re.search(r"Cancelled at step \d+ of 40 \(guided pass\)", outputs[-1][0])
    assert all(o[4] is None for o in outputs)  # the cancelled job never offered a batch
    with pytest.raises(gr.Error, match="Generate a batch first"):
        samples_tab.add_ui(None, "never-added")
    assert samples_tab.cancel_ui(session) == "Nothing of yours is running."


def test_a_generate_waiting_in_line_shows_its_place_and_cancel_takes_it_out(prior):
    """Finding: Cancel pressed while one's job was still queued answered "Nothing of yours is
    running" and the job ran anyway. The job now waits inside its handler, in the line."""
    holders = [line.PREVIEW.join(_session(f"busy-{i}"), "a Generate") for i in range(2)]
    try:
        for ticket in holders:  # both preview slots taken by other visitors
            assert list(ticket.wait()) == []
        session, seen, placed = _session("queued"), [], False
        for out in _generate(prior, session):
            seen.append(out)
            if str(out[0]).startswith("**1st in line**"):  # its place, with the wait ahead
                placed = True
                assert "your turn in about" in out[0]
                assert samples_tab.cancel_ui(session).startswith("Cancel requested")
        assert placed and seen[-1][0].startswith("**Cancelled while waiting in line: nothing ran.**")
        assert not any("Guided pass" in str(o[0]) for o in seen) and seen[-1][4] is None
    finally:
        for ticket in holders:
            ticket.leave()
    assert not line.PREVIEW.waiting and not line.PREVIEW.running


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
