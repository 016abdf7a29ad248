"""The Distill tab through gradio_client: launch on a sample set, stream curves, get the
student's card and files (with a warning when the set was too small), see the run in the
runs table, and compare runs side by side."""

import pytest
import torch
from conftest import needs_fmnist
from gradio_client import Client

from dfkd_core.methods.base import label_with_teacher
from dfkd_core.store import SampleStore
from dfkd_core.teacher.demo import demo_teacher


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def sample_set(runs_dir):
    teacher = demo_teacher()
    images = torch.rand(48, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    store = SampleStore(runs_dir / "sample-sets" / "noise-48")
    store.add(label_with_teacher(teacher, images, list(range(48)), "noise"), teacher.class_names,
              {"class_names": teacher.class_names})
    return "noise-48"


def _args(sample_set, **kw):
    return {**dict(sample_set=sample_set, student="resnet8", epochs=2, temperature=4, batch_size=16, lr=0.05,
                   ce_weight=0.0, mixup=0.5, simkd=False, eval_set="none", run_name="app-student"), **kw}


def test_distill_streams_curves_and_returns_the_student(client, sample_set, runs_dir):
    job = client.submit(**_args(sample_set), api_name="/distill")
    updates = list(job)
    curves, card, files, table, status, next_name, none_yet, picker = job.outputs()[-1]
    card, files, table = (v.get("value", v) if isinstance(v, dict) else v for v in (card, files, table))  # updates
    assert len(updates) >= 2  # one curve update per epoch, then the result
    fields = dict(zip([r[0] for r in card["data"]], [r[1] for r in card["data"]]))
    assert fields["student"] == "resnet8" and fields["train images"] == "48" and fields["epochs"] == "2"
    names = sorted(f.rsplit("/", 1)[-1] for f in files)
    assert names == ["student.json", "student.onnx", "student.safetensors"]
    assert (runs_dir / "distill" / "app-student" / "02-distill" / "metrics.csv").exists()
    assert '<td class="c0">app-student</td>' in table and status.startswith("Done: run `app-student`.")
    # 48 noise images: under 100 per class, and a student far from its teacher: said, not only "Done."
    assert "⚠ " in status and "48 images, under 100 for" in status
    assert "distill/app-student" in [c[0] if isinstance(c, (list, tuple)) else c for c in picker["choices"]]
    assert next_name == ""  # the next run gets a new name
    assert none_yet["visible"] is False  # the "no runs yet" line goes once a run is listed


def test_an_empty_runs_table_and_chart_are_hidden_behind_a_line(monkeypatch):
    """Finding: before the first run the tab showed a Runs table of headers only and two empty
    charts. The table shows only with rows, the "none yet" line otherwise; a chart only with an epoch."""
    import pandas as pd

    from components import distill_tab
    from components.distill_figures import chart
    from components.distill_tab import _runs

    monkeypatch.setattr(distill_tab, "runs_table", lambda: pd.DataFrame(columns=["run", "status"]))
    table, none_yet, picker = _runs()
    assert table["visible"] is False and none_yet["visible"] is True and picker["choices"] == []
    monkeypatch.setattr(distill_tab, "runs_table", lambda: pd.DataFrame([{"run": "a", "status": "finished"}]))
    table, none_yet, picker = _runs()
    assert table["visible"] is True and none_yet["visible"] is False and picker["value"] == ["a"]
    assert chart([])["visible"] is False
    assert chart([{"epoch": 1, "train_loss": 1.0, "test_acc": 0.5}])["visible"] is True


def test_the_curves_have_whole_epochs_and_one_axis_title():
    """Finding (screenshot): the loss chart's "epoch" title lay on the accuracy chart's title,
    and one epoch drew ticks at 0.2, 0.4, ..."""
    from components.distill_figures import curves

    fig = curves({"student": [{"epoch": 1, "train_loss": 1.0, "test_acc": 0.5}]})
    assert fig.layout.xaxis.title.text is None and fig.layout.xaxis2.title.text == "epoch"
    assert fig.layout.xaxis.dtick == fig.layout.xaxis2.dtick == 1
    assert curves({"s": [{"epoch": e, "train_loss": 1.0} for e in range(1, 201)]}).layout.xaxis.dtick == 25


def test_bad_sample_set_and_run_name_are_reported(client, sample_set):
    with pytest.raises(Exception, match="Pick a sample set"):
        client.predict(**_args("no-such-set"), api_name="/distill")
    with pytest.raises(Exception, match="not allowed"):
        client.predict(**_args(sample_set, run_name="../x"), api_name="/distill")


def test_an_empty_run_name_gets_a_new_one_reserved_at_launch(client, sample_set, runs_dir):
    """Finding: two visitors' pages both proposed "student-1"; the second run would have resumed
    (or clashed with) the first. An empty name now gets a new one reserved when the run starts."""
    from dfkd_core.pipeline.runs import reserve_run_name
    names = {reserve_run_name("twice") for _ in range(2)}
    assert names == {"twice-1", "twice-2"} and all((runs_dir / "distill" / n).is_dir() for n in names)
    *_, status, next_name, _none, _picker = client.predict(**_args(sample_set, run_name="", epochs=1),
                                                           api_name="/distill")
    name = status.split("`")[1]
    assert name.startswith("student-") and (runs_dir / "distill" / name / "results.json").is_file()


def test_fresh_run_names_skip_taken_ones(runs_dir):
    from dfkd_core.pipeline.runs import distill_runs_dir, fresh_run_name
    (distill_runs_dir() / "fresh-1").mkdir(parents=True)
    (distill_runs_dir() / "fresh-3").mkdir()
    assert fresh_run_name("fresh") == "fresh-2"
    (distill_runs_dir() / "fresh-2").mkdir()
    assert fresh_run_name("fresh") == "fresh-4"


def test_accuracy_chart_in_percent_with_teacher_and_reference_lines():
    from components.distill_figures import bar, curves, references
    refs = references(demo_teacher())
    assert [round(acc, 4) for _, acc in refs] == [0.9412, 0.9306]
    fig = curves({"student": [{"epoch": 1, "train_loss": 1.0, "test_acc": 0.5}]}, refs)
    assert list(fig.data[1].y) == [50.0] and list(fig.layout.yaxis2.range) == [0, 100]
    lines = {trace.name: list(trace.y) for trace in fig.data[2:]}
    assert lines == {"teacher 94.1 %": [94.12, 94.12], "wrn_16_1 trained on real data 93.1 %": [93.06, 93.06]}
    assert 'value="25.0"' in bar(0.5, 2, "Epoch 0.5 of 2")  # steps done over the whole run


def test_the_picked_set_says_how_many_images_and_warns_when_too_few(sample_set):
    from components.distill_tab import set_note_ui
    note = set_note_ui(None, sample_set)
    assert note.startswith("**48 images**") and "⚠ This set holds 48 images" in note
    assert set_note_ui(None, "no-such-set") == ""


@needs_fmnist
def test_two_runs_side_by_side_curves_accuracy_per_class_and_what_differs(client, sample_set):
    client.predict(**_args(sample_set, run_name="cmp-mixup", eval_set="fashion-mnist", epochs=1, mixup=0.0),
                   api_name="/distill")
    client.predict(**_args(sample_set, run_name="cmp-plain", eval_set="fashion-mnist", epochs=1, mixup=1.0),
                   api_name="/distill")
    chart, table = client.predict(["distill/cmp-mixup", "distill/cmp-plain"], api_name="/compare_runs")
    assert "cmp-mixup" in str(chart) and "cmp-plain" in str(chart)  # both runs' curves on one chart
    assert "final test accuracy" in table and "Sneaker" in table and "%" in table  # accuracy per class
    assert "stages[2].distill.mixup" in table and "Settings that differ" in table
    assert "stages[2].distill.epochs" not in table  # what is the same is not listed
    with pytest.raises(Exception, match="Pick 2-6 finished runs"):
        client.predict(["distill/cmp-mixup"], api_name="/compare_runs")
