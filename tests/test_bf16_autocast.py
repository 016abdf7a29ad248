"""`precision: bf16` (precision.py): distillation and the diffusion denoiser run their forward
passes under bfloat16 autocast, keep float32 weights, still learn / sample what float32 does,
and record the precision; an unknown precision is refused clearly."""

import json

import pytest
import torch
from distill_kit import quadrant_images, train_teacher
from tiny_models import tiny_generate_kit

from dfkd_core import DfkdError
from dfkd_core.cli import main
from dfkd_core.distill.config import DistillConfig
from dfkd_core.distill.kd import distill
from dfkd_core.methods.diffdfkd import generate as generate_module
from dfkd_core.methods.diffdfkd.config import GenerateConfig
from dfkd_core.methods.diffdfkd.generate import run_generation
from dfkd_core.models.zoo import build_model
from dfkd_core.store import SampleStore
from dfkd_core.teacher.evaluate import accuracy
from dfkd_core.teacher.loading import load_teacher


def _record_conv_dtypes(model) -> list:
    """The output dtypes of model's first Conv2d, one per forward pass."""
    seen = []
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    return seen


@pytest.mark.slow  # trains a teacher and two students: about a minute
def test_bf16_distillation_runs_the_networks_in_bfloat16_and_learns_as_fp32_does(tmp_path):
    teacher = load_teacher(train_teacher(tmp_path / "teacher"))
    unlabelled, test = quadrant_images(384, 10), quadrant_images(200, 11)
    accs, seen = {}, []
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        student = build_model("resnet8", 4, 1)
        seen = _record_conv_dtypes(student)
        cfg = DistillConfig(epochs=3, batch_size=64, crop_pad=0, flip=False, precision=precision)
        distill(student, teacher, unlabelled, test, cfg, tmp_path / precision)
        accs[precision] = accuracy(lambda x: student(teacher.preprocess(x)), test)
    assert torch.bfloat16 in seen  # bf16's training steps ran under autocast
    assert seen[-1] == torch.float32  # its evaluation did not: the accuracy is the float32 model's
    assert all(p.dtype == torch.float32 for p in student.parameters())
    assert accs["bf16"] >= max(0.8, accs["fp32"] - 0.05), accs


def test_an_unknown_precision_is_refused_with_the_choices(tmp_path, capsys):
    with pytest.raises(DfkdError, match="precision must be one of fp32, bf16; got 'fp16'"):
        DistillConfig(precision="fp16")
    with pytest.raises(DfkdError, match="precision must be one of auto, fp32, bf16; got 'half'"):
        GenerateConfig.from_dict({"out": str(tmp_path), "precision": "half"})
    assert main(["distill", "--samples", str(tmp_path), "--out", str(tmp_path / "d"), "--precision", "fp8"]) == 2
    assert "invalid choice: 'fp8'" in capsys.readouterr().err


def test_bf16_sampling_autocasts_the_denoiser_and_records_its_precision(tmp_path, monkeypatch):
    kit = tiny_generate_kit(tmp_path / "kit")
    real_resolve, seen = generate_module.resolve_backbone, []

    def resolve_and_watch(name, device, precision="auto"):
        backbone = real_resolve(name, device, precision)
        seen.append(_record_conv_dtypes(backbone.unet))
        return backbone

    monkeypatch.setattr(generate_module, "resolve_backbone", resolve_and_watch)
    stores = {}
    for precision in ("auto", "bf16"):
        cfg = GenerateConfig.from_dict({"out": str(tmp_path / precision), **kit, "per_class": 2, "batch_size": 6,
                                        "precision": precision, "guidance": {"steps": 4, "strength": 0.0}})
        stores[precision] = run_generation(cfg)
    (fp32_dtypes, bf16_dtypes) = seen
    assert set(fp32_dtypes) == {torch.float32} and set(bf16_dtypes) == {torch.bfloat16}
    fp32, bf16 = (stores[p].load().images.float() / 255 for p in ("auto", "bf16"))
    assert torch.isfinite(bf16).all() and (fp32 - bf16).abs().mean() < 0.02  # the same seeds' samples
    settings = {p: list(json.loads((tmp_path / p / "settings.json").read_text()).values())[0] for p in stores}
    assert settings["bf16"]["precision"] == "bf16"
    assert "precision" not in settings["auto"]  # the default keeps the settings ids stores had before
    assert set(SampleStore(tmp_path / "bf16").manifest()["seed"]) == set(SampleStore(tmp_path / "auto").manifest()["seed"])
