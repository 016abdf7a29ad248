"""Bad numbers sent to the app (strings, None, NaN, negatives, out of range), as an API
client or a tampered page can send them: each is refused with a message that names the
field and what it expects (never Gradio's generic error or a null message), and the
server log gets no traceback for these user mistakes."""

import math

import pytest
from gradio_client import Client

from components import samples_config


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


DISTILL = dict(sample_set="none-such", student="resnet8", epochs=2, temperature=4, batch_size=16, lr=0.05,
               ce_weight=0.0, mixup=0.0, simkd=False, eval_set="none", run_name="x")
SAMPLES = dict(backbone_kind=samples_config.DEMO_PRIOR, backbone_path="", classes=["T-shirt/top"],
               per_class=1, strength=0.08, bn=0.0, steps=5, window_start=0.0, window_end=1.0, mode="x0",
               candidates=1, every=1, eta=0.0, seed=0, use_cutmix=False, cutmix_step=1, cutmix_alpha=1.0)

CASES = [
    ("/distill", DISTILL, "epochs", "abc", r"Epochs.*must be a number.*'abc'"),
    ("/distill", DISTILL, "epochs", None, r"Epochs: enter a number"),
    ("/distill", DISTILL, "lr", -0.1, r"lr.*must be > 0"),
    ("/distill", DISTILL, "epochs", 100000, r"Epochs.*must be >= 1 and <= 200"),
    ("/generate_samples", SAMPLES, "per_class", "two", r"Samples per class.*must be a number.*'two'"),
    ("/generate_samples", SAMPLES, "seed", "x", r"Seed must be a number, got 'x'"),
    ("/generate_samples", SAMPLES, "cutmix_alpha", -1, r"Beta.*must be >= 0.1"),
]


@pytest.mark.parametrize("api, base, key, value, message", CASES)
def test_a_bad_number_is_refused_with_a_clear_message(client, capfd, api, base, key, value, message):
    with pytest.raises(Exception, match=message) as info:
        client.predict(**{**base, key: value}, api_name=api)
    assert "null" not in str(info.value)
    assert "Traceback" not in capfd.readouterr().err  # the server's log: no traceback for a user mistake


def test_hidfd_send_refuses_bad_counts(client):
    for count, message in [("lots", r"Samples.*must be a number"), (-5, r"Samples.*>= 1"),
                           (10 ** 12, r"Samples.*<= 1000000")]:
        with pytest.raises(Exception, match=message):
            client.predict("set-name", count, False, api_name="/hidfd_send")


def test_teacher_class_count_must_be_a_whole_number(client):
    with pytest.raises(Exception, match=r"Number of classes.*must be a number"):
        client.predict("Upload a checkpoint", [], None, "ten", api_name="/load_teacher")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinities_are_refused_by_the_fields_and_the_handlers(value, runs_dir):
    """(JSON clients cannot send NaN, but a raw request can: the fields refuse it, and the
    handlers check again when called directly.)"""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import gradio as gr

    from components import distill_tab, samples_tab
    from components.fields import checked

    refused = checked(gr.Slider(1, 10, label="Temperature T")).preprocess(value)  # raised by the handler's wrapper
    assert "Temperature T must be a finite number" in str(refused)
    with pytest.raises(gr.Error, match="temperature must be a finite number"):
        next(distill_tab.distill_ui(None, "no-set", "resnet8", 2, value, 16, 0.05, 0.0, 0.0, False, "none", "x"))
    with pytest.raises(gr.Error, match="eta must be a finite number"):
        next(samples_tab.generate_ui(None, **{**SAMPLES, "eta": value}))


def test_variations_never_replace_what_the_set_holds(client, runs_dir, tmp_path):
    """Finding 10: the Variations tab plans through the engine (as `dfkd augment` does) and
    adds through its store, so a second save of the same variations is refused, not a replacement."""
    import torch
    from tiny_models import tiny_pixel_prior

    from dfkd_core.methods.base import label_with_teacher
    from dfkd_core.methods.writer import add_to_sample_set
    from dfkd_core.teacher.demo import demo_teacher

    teacher, prior = demo_teacher(), str(tiny_pixel_prior(tmp_path / "prior"))
    images = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    add_to_sample_set("vary-fresh", label_with_teacher(teacher, images, [0, 1], "noise"), teacher,
                      {"class_names": teacher.class_names})
    ids = client.predict("vary-fresh", api_name="/show_sources")[1]["choices"]
    ids = [i[0] if isinstance(i, (list, tuple)) else i for i in ids]
    args = ("vary-fresh", ids, "Local folder", prior, 0.3, 2, 5, 0.0, 0)
    update, summary = client.predict(*args, api_name="/make_variations")  # (the Add button's update is not returned)
    assert update["value"].count("<img") == 6 and "4 variations" in summary  # 2 sources, each with v1 and v2
    assert "Added 4 variations" in client.predict(api_name="/save_variations")
    with pytest.raises(Exception, match="Make variations first"):  # the batch is gone once added
        client.predict(api_name="/save_variations")
    with pytest.raises(Exception, match="already holds these 2 variations"):  # nothing left to make
        client.predict(*args, api_name="/make_variations")
    update, summary = client.predict(*args[:5], 3, *args[6:], api_name="/make_variations")
    assert "2 variations" in summary  # only v3 of each source is new


def test_a_refused_field_is_reported_in_its_tab_not_as_a_pop_up():
    """Finding: a bad number typed into a slider's box raised in the field's check, before
    any handler, as a global pop-up. The check now hands a Refused to the handler, and every
    event with a checked field is wired through reporting.on, which raises it quietly (its
    message goes to the tab's status line)."""
    import gradio as gr

    from app import build_app
    from components.fields import Refused, checked
    from components.reporting import reported

    refused = checked(gr.Slider(1, 10, label="Epochs")).preprocess(500)
    assert isinstance(refused, Refused) and "Epochs" in str(refused) and "<= 10" in str(refused)
    with pytest.raises(gr.Error, match="Epochs") as info:
        reported(lambda epochs: pytest.fail("the handler ran"))(refused)
    assert info.value.visible is False  # no pop-up: the tab's status line shows it
    app, events = build_app(), 0
    for dep in app.fns.values():
        if any(getattr(c.preprocess, "__qualname__", "").startswith("checked.") for c in dep.inputs):
            events += 1
            assert dep.fn.__code__.co_qualname.startswith("reported."), dep.api_name
    assert events >= 8
