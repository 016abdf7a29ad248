"""The Distill tab through gradio_client: launch on a sample set, stream curves, get the
student's card and files, and see the run in the runs table."""

import pytest
import torch
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
    store.add(label_with_teacher(teacher, images, list(range(48)), "noise"), teacher.class_names, {})
    return "noise-48"


def _args(sample_set, **kw):
    return {**dict(sample_set=sample_set, student="resnet8", epochs=2, temperature=4, batch_size=16, lr=0.05,
                   ce_weight=0.0, mixup=0.5, simkd=False, eval_set="none", run_name="app-student"), **kw}


def test_distill_streams_curves_and_returns_the_student(client, sample_set, runs_dir):
    job = client.submit(**_args(sample_set), api_name="/distill")
    updates = list(job)
    curves, card, files, table, status, next_name, none_yet = job.outputs()[-1]
    card, files, table = (v.get("value", v) if isinstance(v, dict) else v for v in (card, files, table))  # updates
    assert len(updates) >= 2  # one curve update per epoch, then the result
    fields = dict(zip([r[0] for r in card["data"]], [r[1] for r in card["data"]]))
    assert fields["student"] == "resnet8" and fields["train images"] == "48" and fields["epochs"] == "2"
    names = sorted(f.rsplit("/", 1)[-1] for f in files)
    assert names == ["student.json", "student.onnx", "student.safetensors"]
    assert (runs_dir / "distill" / "app-student" / "02-distill" / "metrics.csv").exists()
    assert table["data"][0][0] == "distill/app-student" and status == "Done."
    assert next_name == "student-1"  # a fresh default name for the next run (app-student is taken)
    assert none_yet["visible"] is False  # the "no runs yet" line goes once a run is listed


def test_an_empty_runs_table_and_chart_are_hidden_behind_a_line(monkeypatch):
    """Finding: before the first run the tab showed a Runs table of headers only and two empty
    charts. The table shows only with rows, the "none yet" line otherwise; a chart only with an epoch."""
    import pandas as pd

    from components import distill_tab
    from components.distill_tab import _chart, _runs

    monkeypatch.setattr(distill_tab, "runs_table", lambda: pd.DataFrame(columns=["run", "status"]))
    table, none_yet = _runs()
    assert table["visible"] is False and none_yet["visible"] is True
    monkeypatch.setattr(distill_tab, "runs_table", lambda: pd.DataFrame([{"run": "a", "status": "finished"}]))
    table, none_yet = _runs()
    assert table["visible"] is True and none_yet["visible"] is False
    assert _chart([])["visible"] is False
    assert _chart([{"epoch": 1, "train_loss": 1.0, "test_acc": 0.5}])["visible"] is True


def test_the_curves_have_whole_epochs_and_one_axis_title():
    """Finding (screenshot): the loss chart's "epoch" title lay on the accuracy chart's title,
    and one epoch drew ticks at 0.2, 0.4, ..."""
    from components.distill_tab import _curves

    fig = _curves([{"epoch": 1, "train_loss": 1.0, "test_acc": 0.5}])
    assert fig.layout.xaxis.title.text is None and fig.layout.xaxis2.title.text == "epoch"
    assert fig.layout.xaxis.dtick == fig.layout.xaxis2.dtick == 1
    assert _curves([{"epoch": e, "train_loss": 1.0} for e in range(1, 201)]).layout.xaxis.dtick == 25


def test_bad_sample_set_and_run_name_are_reported(client, sample_set):
    with pytest.raises(Exception, match="Pick a sample set"):
        client.predict(**_args("no-such-set"), api_name="/distill")
    with pytest.raises(Exception, match="not allowed"):
        client.predict(**_args(sample_set, run_name="../x"), api_name="/distill")


def test_fresh_run_names_skip_taken_ones(runs_dir):
    from dfkd_core.pipeline.runs import distill_runs_dir, fresh_run_name
    (distill_runs_dir() / "fresh-1").mkdir(parents=True)
    (distill_runs_dir() / "fresh-3").mkdir()
    assert fresh_run_name("fresh") == "fresh-2"
    (distill_runs_dir() / "fresh-2").mkdir()
    assert fresh_run_name("fresh") == "fresh-4"


def test_accuracy_chart_in_percent_with_teacher_and_reference_lines():
    from components.distill_tab import _bar, _curves, _references
    references = _references(demo_teacher())
    assert [round(acc, 4) for _, acc in references] == [0.9412, 0.9306]
    fig = _curves([{"epoch": 1, "train_loss": 1.0, "test_acc": 0.5}], references)
    assert list(fig.data[1].y) == [50.0] and list(fig.layout.yaxis2.range) == [0, 100]
    lines = {trace.name: list(trace.y) for trace in fig.data[2:]}
    assert lines == {"teacher 94.1 %": [94.12, 94.12], "wrn_16_1 trained on real data 93.1 %": [93.06, 93.06]}
    assert 'value="25.0"' in _bar(0.5, 2, "Epoch 0.5 of 2")  # steps done over the whole run
