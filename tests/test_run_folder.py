"""The run folder (#17.8, #17.9, #17.13): what DONE.json hands on is relative to the run
folder (a run moves, is renamed, resumes from another working directory); a first attempt
that fails claims nothing and a refused rerun names the settings that differ; a cancelled
distill exports nothing, is not finished, and the runs table says so."""

import json
import shutil

import pytest
from distill_kit import quadrant_images, save_image_folder, train_teacher

from dfkd_core.cli import main
from dfkd_core.errors import DfkdError
from dfkd_core.pipeline.run import run_pipeline


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("kit")
    save_image_folder(quadrant_images(80, 11), root / "data" / "test")
    return train_teacher(root), root / "data"


def config(teacher_card, data_dir, count=64, **distill):
    return {"name": "folder", "teacher": str(teacher_card), "device": "cpu",
            "stages": [{"noise": {"count": count}},
                       {"distill": {"student": "resnet8", "epochs": 2, "batch_size": 32, "eval": str(data_dir),
                                    "onnx": False, **distill}}]}


def stop_after(n):
    calls = iter(range(10_000))
    return lambda: next(calls) >= n


def test_a_moved_run_resumes_from_another_working_directory(kit, tmp_path, monkeypatch):
    teacher_card, data_dir = kit
    monkeypatch.chdir(tmp_path)
    run_pipeline(config(teacher_card, data_dir), "runs/first", should_stop=stop_after(3), log=print)
    assert not (tmp_path / "runs/first/02-distill/DONE.json").exists()
    handed = json.loads((tmp_path / "runs/first/01-noise/DONE.json").read_text())
    assert handed["store"] == "01-noise"  # relative to the run folder
    shutil.move(tmp_path / "runs" / "first", tmp_path / "moved")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    ctx = run_pipeline(config(teacher_card, data_dir), tmp_path / "moved", log=print)
    assert not ctx.cancelled and ctx.results["train_images"] == 64
    assert (tmp_path / "moved" / "02-distill" / "student.safetensors").exists()


def test_a_failed_first_attempt_claims_nothing(kit, tmp_path, capsys):
    import yaml
    teacher_card, data_dir = kit
    out, path = tmp_path / "run", tmp_path / "c.yaml"
    bad_teacher = {**config(teacher_card, data_dir), "teacher": str(tmp_path / "no-such-teacher.json")}
    for bad in (bad_teacher, config(teacher_card, data_dir, lr=-1.0), {**config(teacher_card, data_dir),
                                                                         "device": "cuda"}):
        path.write_text(yaml.safe_dump(bad))
        assert main(["run", str(path), "--out", str(out)]) == 2
        assert not out.exists()
    err = capsys.readouterr().err
    assert "does not exist" in err and "lr must be > 0" in err
    import torch
    if not torch.cuda.is_available():
        assert "no usable CUDA GPU" in err
    # A teacher that exists but does not load: the folder is not claimed either.
    (tmp_path / "broken.json").write_text("{not json")
    path.write_text(yaml.safe_dump({**config(teacher_card, data_dir), "teacher": str(tmp_path / "broken.json")}))
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert not (out / "config.yaml").exists()
    path.write_text(yaml.safe_dump(config(teacher_card, data_dir)))
    assert main(["run", str(path), "--out", str(out)]) == 0


def test_a_refused_rerun_names_the_settings_that_differ(kit, tmp_path):
    teacher_card, data_dir = kit
    out = tmp_path / "run"
    run_pipeline(config(teacher_card, data_dir), out, should_stop=stop_after(2), log=print)
    with pytest.raises(DfkdError) as refused:
        run_pipeline(config(teacher_card, data_dir, count=65, lr=0.1), out)
    message = str(refused.value)
    assert "stages[1].noise.count: 64 -> 65" in message and "stages[2].distill.lr: (not set) -> 0.1" in message
    assert "--out" in message and "delete" in message
    # The device is not part of what a run makes: resuming on another device is allowed.
    ctx = run_pipeline({**config(teacher_card, data_dir), "device": "auto"}, out, log=print)
    assert not ctx.cancelled


def test_a_cancelled_distill_exports_nothing_and_is_not_finished(kit, tmp_path, monkeypatch):
    from dfkd_core.pipeline.runs import runs_table
    teacher_card, data_dir = kit
    monkeypatch.setenv("DFKD_RUNS_DIR", str(tmp_path / "runs"))
    out = tmp_path / "runs" / "cancelled"
    ctx = run_pipeline(config(teacher_card, data_dir), out, should_stop=stop_after(4), log=print)
    assert ctx.cancelled and "epoch 2" in ctx.stopped_at  # 2 steps per epoch, polled before each
    stage = out / "02-distill"
    assert (stage / "checkpoint.safetensors").exists() and not (stage / "DONE.json").exists()
    assert not (stage / "student.safetensors").exists() and not (out / "results.json").exists()
    assert "cancelled" not in set(runs_table()["run"])
    listed = runs_table(include_unfinished=True)
    assert listed.set_index("run").loc["cancelled", "status"] == "cancelled"
    run_pipeline(config(teacher_card, data_dir), out, log=print)  # resumes and finishes
    assert runs_table().set_index("run").loc["cancelled", "status"] == "finished"


def test_a_moved_run_resumes_inside_an_unfinished_generate_stage(kit, tmp_path):
    from tiny_models import tiny_pixel_prior
    teacher_card, data_dir = kit
    prior = tiny_pixel_prior(tmp_path / "prior", channels=1, size=16)
    cfg = {"name": "gen", "teacher": str(teacher_card), "device": "cpu", "stages": [
        {"generate": {"backbone": str(prior), "per_class": 2, "batch_size": 4,
                      "guidance": {"steps": 2, "candidates": 1}}},
        {"distill": {"student": "resnet8", "epochs": 1, "batch_size": 8, "onnx": False}}]}
    stop = []
    ctx = run_pipeline(cfg, tmp_path / "a", should_stop=lambda: bool(stop), log=print,
                       progress=lambda stage, done, total: stop.append(done))
    assert ctx.cancelled and stop == [4]  # one batch of 8 made
    shutil.move(tmp_path / "a", tmp_path / "b")
    ctx = run_pipeline(cfg, tmp_path / "b", log=print)
    assert ctx.results["images"] == 8 and not ctx.cancelled
