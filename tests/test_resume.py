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
