"""Cancel stops the job itself (not only the page's stream): the Distill tab's run stops at
its next step, says where, exports nothing and is never listed as finished; HiDFD's Send
with a large count stops between chunks. Driven through the tabs' functions, with the
Cancel click made from another thread while the job runs, as the page does."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from components import distill_tab, hidfd_tab  # noqa: E402
from dfkd_core.methods.base import label_with_teacher  # noqa: E402
from dfkd_core.methods.writer import add_to_sample_set  # noqa: E402
from dfkd_core.pipeline.runs import runs_table  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402


def _session(name):
    return SimpleNamespace(session_hash=name)  # what gr.Request tells the handlers


@pytest.fixture(scope="module")
def sample_set(runs_dir):
    teacher = demo_teacher()
    images = torch.rand(48, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    add_to_sample_set("cancel-noise-48", label_with_teacher(teacher, images, list(range(48)), "noise"), teacher,
                      {"class_names": teacher.class_names})
    return "cancel-noise-48"


def _distill(sample_set, run_name, session, epochs):
    return distill_tab.distill_ui(None, sample_set, "resnet8", epochs, 4, 16, 0.05, 0.0, 0.0, False, "none",
                                  run_name, request=session)


def test_cancel_stops_the_distill_run_and_it_is_not_listed_as_finished(sample_set, runs_dir):
    session = _session("cancel-a")
    outputs = []
    for out in _distill(sample_set, "cancelled-run", session, epochs=200):
        outputs.append(out)
        if len(outputs) == 1:  # the first epoch is done: click Cancel
            assert distill_tab.cancel_ui(session).startswith("Cancelling")
    status = outputs[-1][4]
    assert "Cancelled at step" in status and "not finished" in status
    assert outputs[-1][2] is None  # no files offered
    run = runs_dir / "distill" / "cancelled-run"
    assert not (run / "results.json").exists() and not (run / "02-distill" / "DONE.json").exists()
    assert not (run / "02-distill" / "student.safetensors").exists()
    assert "distill/cancelled-run" not in set(runs_table()["run"])
    assert distill_tab.cancel_ui(session) == "No run of yours is in progress."


def test_cancel_from_another_session_does_not_stop_a_run(sample_set, runs_dir):
    outputs = []
    for out in _distill(sample_set, "finished-run", _session("cancel-b"), epochs=2):
        outputs.append(out)
        distill_tab.cancel_ui(_session("cancel-c"))  # another visitor's Cancel
    assert outputs[-1][4].startswith("Done: run `finished-run`.")
    assert (runs_dir / "distill" / "finished-run" / "results.json").exists()
    assert "distill/finished-run" in set(runs_table()["run"])


def test_cancel_stops_a_large_hidfd_send_between_chunks(runs_dir, monkeypatch):
    from dfkd_core.methods.hidfd import send
    from dfkd_core.methods.hidfd.job import CHUNK
    from dfkd_core.methods.hidfd.models import Generator, GeneratorSpec

    session, calls = _session("cancel-d"), []
    real_add = send.add_to_sample_set

    def add_then_click_cancel(*args, **kwargs):  # the user clicks Cancel while the first chunk is stored
        calls.append(1)
        store = real_add(*args, **kwargs)
        hidfd_tab.cancel_ui(session)
        return store

    monkeypatch.setattr(send, "add_to_sample_set", add_then_click_cancel)
    trained = {"generator": Generator(GeneratorSpec(num_classes=10, ch=4, z_dim=8, embed_dim=8)).eval(),
               "spec": None, "real": None, "run_dir": "toy", "steps": 0}
    msg = hidfd_tab.send_ui(trained, "cancel-send", 1_000_000, False, request=session)
    assert msg.startswith("**Cancelled**") and f"{CHUNK} of 1000000 samples" in msg
    assert len(calls) == 1 and len(list((runs_dir / "sample-sets" / "cancel-send" / "images").glob("*.png"))) == CHUNK
    monkeypatch.setattr(send, "add_to_sample_set", real_add)  # sending again adds the rest, after what is there
    stops = iter([False, False, True])  # (Cancel after one more chunk: a million samples take too long for a test)
    out = send.send_samples(trained["generator"], hidfd_tab.session_teacher(None), "cancel-send", 1_000_000, "toy", 0,
                            should_stop=lambda: next(stops))
    assert out["made"] == CHUNK and out["set_size"] == 2 * CHUNK


def test_cancel_stops_hidfd_training_and_its_gan_cannot_be_sent(tmp_path, runs_dir):
    from gan_toy import write_pngs

    session = _session("cancel-e")
    files = [str(p) for p in write_pngs(tmp_path, 12, size=28)]
    outputs, finished_before = [], set((runs_dir / "hidfd-app").glob("*/generator.json"))
    for out in hidfd_tab.train_ui(None, hidfd_tab.UPLOAD, files, 12, hidfd_tab.IN_TOTAL, 300, 8, 1.0, 1.0, 0.0, 0.0,
                                  True, True, 8, 0, request=session):
        outputs.append(out)
        if len(outputs) == 2:  # collected, then the first logged step: click Cancel
            hidfd_tab.cancel_ui(session)
    status, state = outputs[-1][0], outputs[-1][4]
    assert "Cancelled at step" in status and state is None
    assert set((runs_dir / "hidfd-app").glob("*/generator.json")) == finished_before


def test_cancel_reaches_a_heavy_job_waiting_in_line_and_one_visitor_holds_one_place(sample_set, runs_dir):
    """Finding: Cancel pressed while one's own job was still queued answered "Nothing of yours
    is running" and the job then ran. A heavy job now waits in its handler, where Cancel reaches it."""
    from components import line
    other = line.HEAVY.join(_session("cancel-f-other"), "a GAN training")
    assert list(other.wait()) == []  # another visitor's GAN holds the heavy slot
    try:
        session, outputs, placed = _session("cancel-f"), [], []
        for out in _distill(sample_set, "waited-run", session, epochs=2):
            outputs.append(out)
            if str(out[4]).startswith("**1st in line**"):  # its place, and what runs ahead of it
                placed.append(out[4])
                assert "for heavy work (running now: a GAN training)" in out[4]
                with pytest.raises(Exception, match="already have a distillation in the heavy line"):
                    next(_distill(sample_set, "second-run", session, epochs=2))  # one heavy job per visitor
                assert distill_tab.cancel_ui(session).startswith("Cancelling")
        assert placed and outputs[-1][4] == "**Cancelled while waiting in line**: nothing ran."
        assert not (runs_dir / "distill" / "waited-run").exists()
    finally:
        other.leave()


def test_a_cancel_pressed_before_the_job_has_started_reaches_it(monkeypatch):
    """The click arms the job's stop event at once; a Cancel pressed while the job still waits in
    Gradio's queue (or loads its teacher) stops it when it starts (it was answered "No evaluation
    of yours is running", and the evaluation then ran to the end)."""
    from components import cancelling, teacher_tab
    clicked = []
    cancelling.armed(lambda fn, *a, **k: clicked.append(fn) or SimpleNamespace(then=None), teacher_tab.JOB)
    session = _session("cancel-before-start")
    monkeypatch.setattr(teacher_tab, "evaluate_teacher", lambda *a, **k: pytest.fail("the evaluation ran"))
    clicked[0](session)  # the click, unqueued
    assert teacher_tab.cancel_ui(session) == "Cancelling the evaluation ..."
    answer = teacher_tab.evaluate_ui(None, "fashion-mnist", request=session, progress=lambda *a, **k: None)
    assert answer.startswith("**Cancelled**")
    # the cancel was used up: the next click's job runs, and a Cancel with nothing armed says so
    assert teacher_tab.cancel_ui(session) == "No evaluation of yours is running."


def test_every_button_that_starts_a_cancellable_job_arms_it_first():
    """Wiring: each job that registers a stop event (cancelling.start) follows an unqueued `arm`
    from its button's click in the built app."""
    import inspect

    import app as app_module
    import components
    jobs = {name for module in map(components.__dict__.get, dir(components)) if inspect.ismodule(module)
            for name, fn in inspect.getmembers(module, inspect.isfunction)
            if fn.__module__ == module.__name__ and "cancelling.start(" in inspect.getsource(fn)}
    assert {"evaluate_ui", "distill_ui", "generate_ui", "train_ui", "send_ui"} <= jobs
    fns = list(app_module.build_app().fns.values())
    wired = [f for f in fns if f.name in jobs]
    assert {f.name for f in wired} == jobs
    for f in wired:
        before = fns[f.trigger_after] if f.trigger_after is not None else None
        assert before is not None and before.name == "arm" and not before.queue, f"{f.name} is not armed"
