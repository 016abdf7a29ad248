"""Bare-weight teachers (Fast-Datafree/CMI .pth, torchvision) from the command line: the
--teacher-* flags of generate, distill and run, the YAML mapping, and one TeacherSpec behind
both; torchvision teachers declared as 32-px CIFAR ones."""

import re

import pytest
import torch
import yaml
from tiny_models import tiny_pixel_prior

from dfkd_core import DfkdError, cli
from dfkd_core.cli import run as run_command
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.spec import NORMALISATIONS, TeacherSpec, resolve_teacher, teacher_spec_from_args


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def fast_datafree_pth(tmp_path):
    torch.manual_seed(0)
    model = build_model("wrn_16_1", 10, 3).eval()
    torch.save({"state_dict": model.state_dict(), "epoch": 200}, tmp_path / "cifar10_wrn_16_1.pth")
    return tmp_path / "cifar10_wrn_16_1.pth"


def _option_strings(parser) -> set[str]:
    import argparse
    found = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _option_strings(sub)
    return found


def test_bare_weights_without_an_arch_name_flags_that_exist(tmp_path, capsys, fast_datafree_pth):
    code, text = _run(capsys, "generate", "--teacher", fast_datafree_pth, "--out", tmp_path / "run")
    assert code == 2 and "Traceback" not in text and "--teacher-arch" in text
    named = set(re.findall(r"--[a-z][a-z-]*", text))
    assert named and named <= _option_strings(cli.build_parser()), named - _option_strings(cli.build_parser())


def test_generate_takes_a_fast_datafree_teacher_from_flags_and_resumes_from_its_config(tmp_path, capsys,
                                                                                       fast_datafree_pth):
    out = tmp_path / "run"
    code, text = _run(capsys, "generate", "--teacher", fast_datafree_pth, "--teacher-arch", "wrn16_1",
                      "--backbone", tiny_pixel_prior(tmp_path / "prior", channels=3), "--classes", "3",
                      "--per-class", "1", "--steps", "2", "--candidates", "1", "--device", "cpu", "--out", out)
    assert code == 0, text
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["teacher"] == {"source": str(fast_datafree_pth), "arch": "wrn16_1"}
    assert _run(capsys, "generate", "--config", out / "config.yaml")[0] == 0  # the written config resumes


def _parsed(*argv):
    return cli.build_parser().parse_args([str(a) for a in argv])


def test_a_torchvision_teacher_declared_as_a_32_px_cifar_one(tmp_path):
    import torchvision
    model = torchvision.models.resnet18(num_classes=10).eval()
    torch.save(model.state_dict(), tmp_path / "tv.pth")
    args = _parsed("generate", "--out", tmp_path / "run", "--teacher", tmp_path / "tv.pth", "--teacher-arch",
                   "torchvision:resnet18", "--teacher-input-size", "32", "--teacher-normalization", "cifar10")
    spec = teacher_spec_from_args(args)
    assert spec.to_config() == {"source": str(tmp_path / "tv.pth"), "arch": "torchvision:resnet18",
                                "input_size": 32, "mean": NORMALISATIONS["cifar10"][0],
                                "std": NORMALISATIONS["cifar10"][1]}
    teacher = spec.load()
    assert teacher.input_size == 32 and teacher.class_names[0] == "airplane"
    x = torch.rand(2, 3, 32, 32)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in NORMALISATIONS["cifar10"])
    assert torch.allclose(teacher(x), model((x - mean) / std), atol=1e-4)
    # The same teacher, from the YAML mapping (as a run config holds it).
    again = resolve_teacher({"source": str(tmp_path / "tv.pth"), "arch": "torchvision:resnet18",
                             "input_size": 32, "normalization": "cifar10"})
    assert torch.allclose(again(x), teacher(x))


def test_distill_and_run_take_the_teacher_flags(tmp_path, monkeypatch, fast_datafree_pth):
    seen = []
    monkeypatch.setattr(run_command, "execute", lambda cfg, out, args: seen.append(cfg["teacher"]))
    assert cli.main(["distill", "--samples", "x", "--out", str(tmp_path / "d"), "--teacher", str(fast_datafree_pth),
                     "--teacher-arch", "wrn_16_1", "--teacher-mean", "0.5", "--teacher-std", "0.25"]) == 0
    assert seen[-1] == {"source": str(fast_datafree_pth), "arch": "wrn_16_1", "mean": [0.5], "std": [0.25]}
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"name": "r", "teacher": {"source": str(fast_datafree_pth)},
                                      "stages": [{"noise": {"count": 4}}]}))
    assert cli.main(["run", str(config), "--out", str(tmp_path / "r")]) == 0  # no flag: the config as written
    assert seen[-1] == {"source": str(fast_datafree_pth)}
    assert cli.main(["run", str(config), "--out", str(tmp_path / "r"), "--teacher-arch", "wrn_16_1",
                     "--teacher-input-size", "32"]) == 0  # flags complete the config's teacher
    assert seen[-1] == {"source": str(fast_datafree_pth), "arch": "wrn_16_1", "input_size": 32}


@pytest.mark.parametrize("flags, message", [
    (["--teacher-input-size", "0"], "--teacher-input-size: must be >= 1 and <= 2048, got 0"),
    (["--teacher-input-size", "100000"], "--teacher-input-size: must be >= 1 and <= 2048"),
    (["--teacher-mean", "0.5", "0.5"], "mean must be 1 or 3 numbers from 0 to 1"),
    (["--teacher-mean", "nan", "--teacher-std", "1"], "--teacher-mean: must be a finite number, got nan"),
    (["--teacher-mean", "128", "--teacher-std", "64"], "--teacher-mean: must be >= 0 and <= 1, got 128.0"),
    (["--teacher-mean", "0.5", "--teacher-std", "0"], "--teacher-std: must be > 0 and <= 1, got 0.0"),
    (["--teacher-mean", "0.5"], "mean and std together"),
    (["--teacher-normalization", "cifar10", "--teacher-mean", "0.5", "--teacher-std", "1"], "by name or as mean"),
    (["--teacher-num-classes", "1"], "--teacher-num-classes: must be >= 2"),
    (["--teacher-arch", "wrn_99_9"], "Unknown architecture 'wrn_99_9'"),
])
def test_bad_teacher_flags_are_refused_before_any_work(tmp_path, capsys, flags, message):
    code, text = _run(capsys, "generate", "--out", tmp_path / "run", *flags)
    assert code == 2 and message in text and "Traceback" not in text
    assert not (tmp_path / "run").exists()


def test_the_yaml_mapping_is_checked_with_did_you_mean(fast_datafree_pth):
    with pytest.raises(DfkdError, match=r"unknown keys 'input_sise' \(did you mean 'input_size'\?\)"):
        resolve_teacher({"source": str(fast_datafree_pth), "arch": "wrn_16_1", "input_sise": 32})
    with pytest.raises(DfkdError, match="Unknown teacher normalization 'cifar'"):
        TeacherSpec.from_config({"source": "x.pth", "normalization": "cifar"})
    spec = TeacherSpec.from_config({"source": str(fast_datafree_pth), "arch": "wrn_16_1", "mean": [0.5, 0.5, 0.5],
                                    "std": [0.25, 0.25, 0.25], "input_size": 16})
    teacher = spec.load()
    assert teacher.input_size == 16 and torch.allclose(teacher.preprocess.std, torch.full((1, 3, 1, 1), 0.25))
    assert TeacherSpec.from_config(spec.to_config()) == spec
    one_value = TeacherSpec(source=str(fast_datafree_pth), arch="wrn_16_1", mean=0.5, std=0.25).load()
    assert torch.allclose(one_value.preprocess.mean, torch.full((1, 3, 1, 1), 0.5))  # one value: every channel


def test_what_a_card_or_a_transformers_folder_says_is_not_silently_overridden(tmp_path):
    from transformers import ViTConfig, ViTForImageClassification

    from dfkd_core.models.checkpoints import save_classifier
    card = dict(arch="resnet8", num_classes=4, in_channels=1, input_size=32, mean=[0.5], std=[0.5],
                class_names=list("abcd"))
    _, card_path = save_classifier(tmp_path / "t", build_model("resnet8", 4, 1), card)
    with pytest.raises(DfkdError, match="5 classes were declared, but the teacher has 4"):
        TeacherSpec(source=str(card_path), num_classes=5).load()
    with pytest.raises(DfkdError, match="card for 'resnet8', but the architecture 'wrn_16_1' was declared"):
        TeacherSpec(source=str(card_path), arch="wrn_16_1").load()
    assert TeacherSpec(source=str(card_path), arch="resnet8", num_classes=4).load().num_classes == 4
    ViTForImageClassification(ViTConfig(image_size=16, patch_size=8, hidden_size=8, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=16)).save_pretrained(tmp_path / "vit")
    with pytest.raises(DfkdError, match="transformers model folder.*declare none"):
        TeacherSpec(source=str(tmp_path / "vit"), arch="wrn_16_1").load()
