"""Exporting a distilled student: safetensors + JSON card (loadable as a teacher, so a
student can be inspected, evaluated, or distilled further), and ONNX with the
preprocessing inside (input: images in [0, 1]), checked against PyTorch by onnxruntime."""

import warnings

import numpy as np
import torch
from torch import nn

from dfkd_core.errors import DfkdError
from dfkd_core.io import atomic_write
from dfkd_core.models.checkpoints import save_classifier
from dfkd_core.models.simkd import SimKDStudent
from dfkd_core.teacher.model import Teacher


def student_card(student, arch: str, teacher: Teacher, **extra) -> dict:
    pre = teacher.preprocess
    card = {"arch": arch, "num_classes": teacher.num_classes, "in_channels": pre.in_channels,
            "input_size": pre.input_size, "mean": pre.mean.flatten().tolist(), "std": pre.std.flatten().tolist(),
            "class_names": teacher.class_names, "teacher": teacher.info.get("source", "")}
    if pre.resize_size != pre.input_size:  # resize, then the central crop (e.g. a transformers crop_pct)
        card["resize_size"] = pre.resize_size
    if isinstance(student, SimKDStudent):
        card["simkd_teacher_dim"] = student.head.in_features
    return {**card, **extra}


def export_student(path, student: nn.Module, card: dict):
    """PATH.safetensors + PATH.json. Returns both paths."""
    return save_classifier(path, student.cpu().eval(), card)


class _WithPreprocess(nn.Module):
    def __init__(self, model, preprocess):
        super().__init__()
        self.model, self.preprocess = model, preprocess

    def forward(self, images):
        return self.model(self.preprocess(images))


def export_onnx(path, student: nn.Module, teacher: Teacher, check: bool = True) -> float | None:
    """Writes PATH (.onnx). With check, runs it with onnxruntime on random images and
    returns the largest absolute logit difference to PyTorch (None if onnxruntime is absent)."""
    pre = teacher.preprocess
    # The wrapper must be in eval mode too: the exporter restores the wrapper's mode recursively,
    # which would leave the student's BatchNorm in training mode.
    model = _WithPreprocess(student.cpu(), type(pre)(**pre.settings())).eval()
    example = torch.rand(2, pre.in_channels, pre.input_size, pre.input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = model(example).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and TorchScript-exporter deprecation notices
        atomic_write(path, lambda tmp: torch.onnx.export(
            model, (example,), tmp, dynamo=False, input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}), suffix=".onnx")
    if not check:
        return None
    try:
        import onnxruntime  # heavy: keeps onnxruntime off importing distill.export
    except ImportError:
        import onnx  # heavy: keeps onnx off importing distill.export
        onnx.checker.check_model(str(path))
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": example.numpy()})[0]
    diff = float(np.abs(got - want).max())
    if diff > 1e-3:
        raise DfkdError(f"The ONNX export {path} disagrees with PyTorch (max logit difference {diff:.2g}).")
    return diff
