"""Distillation: the KD loss, SimKD, learning from a teacher on unlabelled images, resume,
export (safetensors card + ONNX), and one-config runs (`dfkd run`, `dfkd distill`)."""

import math
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from distill_kit import quadrant_images, save_image_folder, train_teacher

from dfkd_core import DfkdError
from dfkd_core.cli import main
from dfkd_core.distill.config import DistillConfig
from dfkd_core.distill.export import export_onnx, export_student, student_card
from dfkd_core.distill.kd import distill, kd_loss, make_student
from dfkd_core.errors import Cancelled
from dfkd_core.io import load_state, save_state
from dfkd_core.models.zoo import build_model
from dfkd_core.pipeline.config import read_config
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.teacher.evaluate import accuracy
from dfkd_core.teacher.loading import load_teacher

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def teacher_card(tmp_path_factory):
    return train_teacher(tmp_path_factory.mktemp("teacher"))


@pytest.fixture(scope="module")
def teacher(teacher_card):
    return load_teacher(teacher_card)


UNLABELLED, TEST = quadrant_images(384, 10), quadrant_images(200, 11)
FAST = dict(epochs=3, batch_size=64, lr=0.05, crop_pad=0, flip=False)


def test_kd_loss_matches_a_hand_computed_value():
    s, t, temp = [1.0, 0.0], [0.0, 1.0], 2.0
    soft = lambda z: [math.exp(v / temp) / sum(math.exp(u / temp) for u in z) for v in z]
    p_s, p_t = soft(s), soft(t)
    want = temp ** 2 * sum(pt * math.log(pt / ps) for pt, ps in zip(p_t, p_s))
    got = kd_loss(torch.tensor([s]), torch.tensor([t]), temp)
    assert got.item() == pytest.approx(want, rel=1e-5)
    assert kd_loss(torch.tensor([t]), torch.tensor([t]), temp).item() == pytest.approx(0.0, abs=1e-7)


def _student(teacher, simkd=False, seed=0):
    torch.manual_seed(seed)
    return make_student(build_model("resnet8", 4, 1), teacher, simkd)


@pytest.mark.parametrize("simkd, mixup", [(False, 0.0), (True, 0.0), (False, 1.0)])
def test_student_learns_from_the_teacher_on_unlabelled_images(teacher, tmp_path, simkd, mixup):
    student = _student(teacher, simkd)
    before = accuracy(lambda x: student.eval()(teacher.preprocess(x)), TEST)
    # SimKD's projector has BatchNorm whose running statistics need a few more steps to settle;
    # mixed images teach the pure ones more slowly.
    cfg = DistillConfig(simkd=simkd, mixup=mixup, **{**FAST, "epochs": 6 if simkd or mixup else 3})
    rows = distill(student, teacher, UNLABELLED, TEST, cfg, tmp_path)
    assert len(rows) == cfg.epochs and (tmp_path / "metrics.csv").exists()
    assert rows[-1]["test_acc"] >= 0.9 > before + 0.3
    if simkd:  # the teacher's classifier makes the prediction and stays frozen
        assert torch.equal(student.head.weight, teacher.model.head.weight)


@pytest.mark.parametrize("mixup", [0.0, 1.0])  # mixup draws from torch's RNG, which the checkpoint keeps
def test_resume_after_an_interrupted_epoch_gives_the_uninterrupted_result(teacher, tmp_path, mixup):
    cfg = DistillConfig(mixup=mixup, **FAST)
    whole = _student(teacher)
    distill(whole, teacher, UNLABELLED, TEST, cfg, tmp_path / "whole")
    calls = iter(range(10_000))
    interrupted = _student(teacher)
    with pytest.raises(Cancelled, match="in epoch 2"):  # 6 batches per epoch: stops inside epoch 2
        distill(interrupted, teacher, UNLABELLED, TEST, cfg, tmp_path / "cut", should_stop=lambda: next(calls) >= 8)
    ckpt = load_state(tmp_path / "cut" / "checkpoint.safetensors")
    assert (ckpt["epoch"], ckpt["step"]) == (1, 2)  # saved at the step it stopped
    if not mixup:  # a checkpoint from before the mixup setting existed resumes too
        del ckpt["config"]["mixup"]
        save_state(tmp_path / "cut" / "checkpoint.safetensors", ckpt)
    resumed = _student(teacher, seed=123)  # a fresh process would start from other weights
    distill(resumed, teacher, UNLABELLED, TEST, cfg, tmp_path / "cut")
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("simkd", [False, True])
def test_export_card_and_onnx_match_pytorch(teacher, tmp_path, simkd):
    student = _student(teacher, simkd).eval()
    x = torch.rand(5, 1, 16, 16)
    with torch.no_grad():
        want = student(teacher.preprocess(x))
    export_student(tmp_path / "student", student, student_card(student, "resnet8", teacher, method="test"))
    reloaded = load_teacher(tmp_path / "student.json")
    assert torch.allclose(reloaded(x), want, atol=1e-5)
    assert export_onnx(tmp_path / "student.onnx", student, teacher) < 1e-4
    import onnxruntime
    session = onnxruntime.InferenceSession(str(tmp_path / "student.onnx"))
    assert torch.allclose(torch.from_numpy(session.run(None, {"images": x.numpy()})[0]), want, atol=1e-4)


def _run_config(teacher_card, data_dir, **distill_settings):
    return {"name": "tiny", "teacher": str(teacher_card), "device": "cpu",
            "stages": [{"noise": {"count": 64}},
                       {"real": {"dataset": str(data_dir), "split": "train", "count": 300}},
                       {"distill": {"student": "resnet8", "eval": str(data_dir), "eval_split": "test",
                                    **FAST, **distill_settings}}]}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    save_image_folder(UNLABELLED, root / "train")
    save_image_folder(TEST, root / "test")
    return root


def test_dfkd_run_chains_stages_resumes_and_reports(teacher_card, data_dir, tmp_path, capsys):
    cfg = _run_config(teacher_card, data_dir)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 0
    assert read_config(out / "config.yaml") == cfg  # the run folder's config reproduces the run
    results = yaml.safe_load((out / "results.json").read_text())
    assert results["student_test_acc"] >= 0.6 and results["train_images"] == 300  # chance: 0.25
    assert results["onnx_max_abs_diff"] < 1e-4
    assert "student_test_acc" in (out / "report.md").read_text()
    card = yaml.safe_load((out / "03-distill" / "student.json").read_text())
    assert card["method"] == "noise -> real -> distill" and card["command"].startswith("dfkd run")
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out)]) == 0  # finished stages are skipped
    assert capsys.readouterr().out.count("done earlier, skipped") == 3
    cfg["stages"][0]["noise"]["count"] = 65
    with pytest.raises(DfkdError, match="another config"):
        run_pipeline(cfg, out)


def test_dfkd_distill_from_a_sample_set(teacher_card, data_dir, tmp_path):
    run_pipeline(_run_config(teacher_card, data_dir, epochs=1), tmp_path / "src")
    assert main(["distill", "--samples", str(tmp_path / "src" / "02-real"), "--teacher", str(teacher_card),
                 "--student", "resnet8", "--epochs", "2", "--eval", str(data_dir), "--no-onnx",
                 "--out", str(tmp_path / "d"), "--device", "cpu"]) == 0
    assert (tmp_path / "d" / "02-distill" / "student.safetensors").exists()


def test_a_sample_set_is_found_by_its_name(teacher_card, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DFKD_RUNS_DIR", str(tmp_path / "runs"))
    run_pipeline(_run_config(teacher_card, data_dir, epochs=1, onnx=False), tmp_path / "src")
    shutil.copytree(tmp_path / "src" / "02-real", tmp_path / "runs" / "sample-sets" / "my-set")
    cfg = {"teacher": str(teacher_card), "device": "cpu", "stages": [
        {"samples": {"path": "my-set"}},
        {"distill": {"student": "resnet8", "eval": str(data_dir), "eval_split": "test", "onnx": False, **FAST,
                     "epochs": 1}}]}
    assert run_pipeline(cfg, tmp_path / "by-name").results["train_images"] == 300
    cfg["stages"][0]["samples"]["path"] = "no-such-set"
    with pytest.raises(DfkdError, match="No sample store at 'no-such-set'"):
        run_pipeline(cfg, tmp_path / "missing")


def test_real_images_alone_are_inflated_like_hidfd_inflates_them(teacher_card, data_dir, tmp_path):
    """The 'KD on the few real images alone' baselines repeat them as HiDFD does (real_repeat)."""
    cfg = _run_config(teacher_card, data_dir, epochs=1, real_repeat=3)
    cfg["stages"][2]["distill"]["onnx"] = False
    ctx = run_pipeline(cfg, tmp_path / "run")
    assert ctx.results["train_images"] == 900  # 300 real images x 3, not 4x


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    cfg = read_config(path)
    assert cfg["name"] == path.stem and cfg.get("description")


@pytest.mark.parametrize("bad, message", [
    ({"stages": []}, "non-empty `stages:`"),
    ({"stages": [{"teleport": {}}]}, "Unknown stage 'teleport'"),
    ({"stages": [{"noise": {"count": 3}}], "colour": 1}, "unknown keys"),
    ({"stages": [{"noise": {"cuont": 3}}, {"distill": {}}]}, "unknown settings"),
    ({"stages": [{"distill": {"student": "resnet8"}}]}, "no images"),
    ({"stages": [{"noise": {"count": 3}}, {"distill": {"mixup": -1}}]}, "mixup must be >= 0 and <= 100, got -1"),
])
def test_bad_run_configs_are_reported_clearly(teacher_card, tmp_path, bad, message, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"teacher": str(teacher_card), "device": "cpu", **bad}))
    assert main(["run", str(path), "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
