"""Exact resume of a distill stage (#17.7): a run whose DONE.json is lost (killed during its
final evaluation or export) resumes into the very student an uninterrupted run exported, and
the final evaluation runs in eval mode, so it never changes BatchNorm statistics."""

import pytest
import torch
from distill_kit import quadrant_images, save_image_folder, train_teacher

from dfkd_core.models.zoo import build_model
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.teacher.evaluate import accuracy
from dfkd_core.teacher.loading import load_teacher


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("kit")
    save_image_folder(quadrant_images(120, 11), root / "data" / "test")
    return train_teacher(root), root / "data"


def split_safetensors(raw: bytes) -> tuple[dict, bytes]:
    """(header, tensor bytes): the header's JSON is compared as a mapping, since safetensors
    writes its metadata entries in no fixed order; the weights themselves byte for byte."""
    import json
    import struct
    size = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def config(teacher_card, data_dir, **distill):
    return {"name": "resume", "teacher": str(teacher_card), "device": "cpu",
            "stages": [{"noise": {"count": 96}},
                       {"distill": {"student": "resnet8", "epochs": 2, "batch_size": 32, "lr": 0.05,
                                    "eval": str(data_dir), "onnx": False, **distill}}]}


def test_a_run_resumed_after_its_last_epoch_exports_the_identical_student(kit, tmp_path):
    teacher_card, data_dir = kit
    out = tmp_path / "run"
    first = run_pipeline(config(teacher_card, data_dir), out, log=lambda m: None)
    weights = out / "02-distill" / "student.safetensors"
    exported = weights.read_bytes()
    # Killed during the final evaluation or export: the checkpoint is complete, DONE.json is not there.
    (out / "02-distill" / "DONE.json").unlink()
    (out / "results.json").unlink()
    again = run_pipeline(config(teacher_card, data_dir), out, log=lambda m: None)
    assert split_safetensors(weights.read_bytes()) == split_safetensors(exported)
    assert again.results["student_test_acc"] == first.results["student_test_acc"]


def test_the_card_agrees_with_the_last_epoch_and_the_exported_student(kit, tmp_path):
    import json
    teacher_card, data_dir = kit
    out = tmp_path / "run"
    ctx = run_pipeline(config(teacher_card, data_dir), out, log=lambda m: None)
    card = json.loads((out / "02-distill" / "student.json").read_text())
    # No eval_subset: the last epoch's figure and the final one are made on the same images.
    assert card["test_accuracy"] == card["metrics"][-1]["test_acc"] == ctx.results["student_test_acc"]
    student = load_teacher(out / "02-distill" / "student.json")
    assert accuracy(student, quadrant_images(120, 11)) == pytest.approx(card["test_accuracy"], abs=1e-5)


def test_fit_leaves_the_model_in_eval_mode_even_when_nothing_is_left_to_train(tmp_path):
    from dfkd_core.distill.config import FitConfig
    from dfkd_core.distill.fit import fit
    data, cfg = quadrant_images(32, 3), FitConfig(epochs=1, batch_size=16)

    def train(model):
        def step(x, y):
            logits = model(x)
            return torch.nn.functional.cross_entropy(logits, y), logits, y
        fit(model, model, data, None, cfg, step, tmp_path)
        return model

    assert not train(build_model("resnet8", 4, 1)).training
    assert not train(build_model("resnet8", 4, 1).train()).training  # resumed after its last epoch


# --- inside an epoch (#33.4): an interrupt loses at most the steps since the last checkpoint -------------
FIT = {"epochs": 2, "batch_size": 16, "lr": 0.05, "crop_pad": 2, "flip": True}  # 96 images: 6 steps an epoch, 12 in all


@pytest.fixture
def one_thread():
    """Bit-identical float rounding between two runs needs one thread's summation order."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def fit_counting(out, kill_at=None, **hooks):
    """fit() of a fresh resnet8 on quadrant images; returns (model, rows, steps taken). The loss
    draws from torch's global RNG (input noise), the augmentation from fit's generator, so both
    must come back on resume. kill_at: a KeyboardInterrupt in that step, as Ctrl-C would."""
    from dfkd_core.distill.config import FitConfig
    from dfkd_core.distill.fit import fit
    torch.manual_seed(7)
    model, calls = build_model("resnet8", 4, 1), []

    def step(x, y):
        calls.append(1)
        if len(calls) == kill_at:
            raise KeyboardInterrupt
        logits = model(x + 0.05 * torch.randn_like(x))
        return torch.nn.functional.cross_entropy(logits, y), logits, y

    rows = fit(model, model, quadrant_images(96, 5), quadrant_images(40, 6), FitConfig(**FIT), step, out, **hooks)
    return model, rows, len(calls)


def same_training(a, b):
    (model_a, rows_a, _), (model_b, rows_b, _) = a, b
    for (name, x), y in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(x, y), name
    for row_a, row_b in zip(rows_a, rows_b, strict=True):  # the metric sums of the cut epoch were kept
        assert {**row_a, "epoch_seconds": 0} == {**row_b, "epoch_seconds": 0}


@pytest.mark.parametrize("polls, epoch, step", [(0, 0, 0), (3, 0, 3), (6, 1, 0), (8, 1, 2)])
def test_a_stop_inside_an_epoch_resumes_from_that_step_to_the_same_weights(tmp_path, one_thread, polls, epoch, step):
    from dfkd_core.errors import Cancelled
    from dfkd_core.io import load_state
    whole = fit_counting(tmp_path / "whole")
    asked = iter(range(100))
    with pytest.raises(Cancelled):
        fit_counting(tmp_path / "cut", should_stop=lambda: next(asked) >= polls)
    ckpt = load_state(tmp_path / "cut" / "checkpoint.safetensors")
    assert (ckpt["epoch"], ckpt["step"]) == (epoch, step)
    resumed = fit_counting(tmp_path / "cut")
    assert resumed[2] == 12 - (6 * epoch + step)  # no step made twice
    same_training(whole, resumed)


def test_a_killed_run_loses_only_the_steps_since_the_last_timed_checkpoint(tmp_path, one_thread, monkeypatch):
    from dfkd_core.io import load_state
    from dfkd_core.runtime import checkpoint
    whole = fit_counting(tmp_path / "whole")
    monkeypatch.setattr(checkpoint, "SAVE_SECONDS", 0.0)  # a checkpoint before every step
    with pytest.raises(KeyboardInterrupt):
        fit_counting(tmp_path / "cut", kill_at=9)  # killed in epoch 2's third step
    ckpt = load_state(tmp_path / "cut" / "checkpoint.safetensors")
    assert (ckpt["epoch"], ckpt["step"]) == (1, 2)
    resumed = fit_counting(tmp_path / "cut")
    assert resumed[2] == 12 - 8
    same_training(whole, resumed)


def test_a_pickled_checkpoint_of_an_older_version_is_refused(tmp_path):
    from dfkd_core.errors import DfkdError
    torch.save({"epoch": 1}, tmp_path / "checkpoint.pt")
    with pytest.raises(DfkdError, match="older version.*new output folder"):
        fit_counting(tmp_path)
