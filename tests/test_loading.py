"""Teacher loading from every supported format, and the errors for bad files."""

import os

import pytest
import torch

from dfkd_core import DfkdError
from dfkd_core.models.checkpoints import load_zoo_model, read_card, save_classifier
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.loading import load_teacher


def _fast_datafree_checkpoint(path, arch="wrn_16_1", num_classes=10, prefix=""):
    """Saved the way Fast-Datafree/CMI's train_scratch.py saves its teachers."""
    torch.manual_seed(1)
    model = build_model(arch, num_classes, 3).eval()
    sd = {prefix + k: v for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.save({"epoch": 200, "arch": arch, "state_dict": sd, "best_acc1": 0.9512,
                "optimizer": opt.state_dict()}, path)
    return model


@pytest.mark.parametrize("prefix", ["", "module."])
def test_fast_datafree_checkpoint_loads_strictly_with_same_logits(tmp_path, prefix):
    path = tmp_path / "cifar10_wrn_16_1.pth"
    ref = _fast_datafree_checkpoint(path, prefix=prefix)
    teacher = load_teacher(path, arch="wrn16_1")
    x = torch.rand(2, 3, 32, 32)
    assert teacher.num_classes == 10 and teacher.class_names[0] == "airplane"
    expected = ref(teacher.preprocess(x))
    assert torch.allclose(teacher(x), expected, atol=1e-5)


def test_own_card_roundtrip(tmp_path):
    model = build_model("resnet8", 4, 1).eval()
    card = dict(arch="resnet8", num_classes=4, in_channels=1, input_size=32, mean=[0.3], std=[0.4],
                class_names=list("abcd"), test_accuracy=0.5)
    weights, card_path = save_classifier(tmp_path / "mine", model, card)
    for source in (card_path, weights):
        teacher = load_teacher(source)
        assert teacher.class_names == list("abcd") and teacher.info["test_accuracy"] == 0.5
        x = torch.rand(3, 1, 32, 32)
        assert torch.allclose(teacher(x), model((x - 0.3) / 0.4), atol=1e-5)
    assert read_card(card_path)["weights"] == "mine.safetensors"


def test_wrong_architecture_names_missing_keys_and_suggests_the_right_one(tmp_path):
    path = tmp_path / "t.pth"
    _fast_datafree_checkpoint(path, arch="wrn_40_1")
    with pytest.raises(DfkdError) as e:
        load_zoo_model(path, "wrn_16_1")
    msg = str(e.value)
    assert "do not fit architecture 'wrn_16_1'" in msg and "unexpected keys" in msg
    assert "The file matches: wrn_40_1" in msg


def test_wrong_class_count(tmp_path):
    path = tmp_path / "t.pth"
    _fast_datafree_checkpoint(path, num_classes=100)
    with pytest.raises(DfkdError, match="you asked for 10 classes but .*fc.weight.* has 100 outputs"):
        load_zoo_model(path, "wrn_16_1", num_classes=10)


def test_wrong_shapes_are_listed(tmp_path):
    model = build_model("resnet8", 10, 3)
    sd = model.state_dict()
    sd["layer2.0.conv1.weight"] = torch.zeros(8, 16, 3, 3)
    torch.save(sd, tmp_path / "t.pt")
    with pytest.raises(DfkdError, match=r"shape mismatches \(layer2.0.conv1.weight: expected \(32, 16, 3, 3\), found \(8, 16, 3, 3\)"):
        load_zoo_model(tmp_path / "t.pt", "resnet8")


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_corrupt_or_truncated_files(tmp_path, suffix):
    good = tmp_path / f"good{suffix}"
    model = build_model("resnet8", 10, 3)
    if suffix == ".pth":
        torch.save(model.state_dict(), good)
    else:
        from safetensors.torch import save_file
        save_file(model.state_dict(), str(good))
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DfkdError, match="corrupt or truncated"):
        load_zoo_model(bad, "resnet8")
    (tmp_path / f"junk{suffix}").write_text("not a checkpoint at all")
    with pytest.raises(DfkdError, match="corrupt or truncated"):
        load_zoo_model(tmp_path / f"junk{suffix}", "resnet8")


class _RunsCodeWhenUnpickled:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_pickled_code_is_refused_and_never_run(tmp_path):
    path, marker = tmp_path / "model.pth", tmp_path / "pwned"
    torch.save({"state_dict": _RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(DfkdError, match="not loaded for safety.*unsupported GLOBAL .*mkdir"):
        load_zoo_model(path, "resnet8")
    assert not marker.exists()


def test_not_a_state_dict(tmp_path):
    torch.save({"epoch": 3, "notes": "x"}, tmp_path / "t.pth")
    with pytest.raises(DfkdError, match="does not contain a state dict"):
        load_zoo_model(tmp_path / "t.pth", "resnet8")


def test_missing_file_and_missing_arch(tmp_path):
    with pytest.raises(DfkdError, match="does not exist"):
        load_zoo_model(tmp_path / "nope.pth", "resnet8")
    torch.save(build_model("resnet8").state_dict(), tmp_path / "t.pth")
    with pytest.raises(DfkdError, match="--arch"):
        load_teacher(tmp_path / "t.pth")


def test_torchvision_checkpoint(tmp_path):
    import torchvision
    model = torchvision.models.resnet18(num_classes=5).eval()
    torch.save(model.state_dict(), tmp_path / "tv.pth")
    teacher = load_teacher(tmp_path / "tv.pth", arch="torchvision:resnet18")
    assert teacher.num_classes == 5 and teacher.input_size == 224
    x = torch.rand(1, 3, 64, 64)
    assert torch.allclose(teacher(x), model(teacher.preprocess(x)), atol=1e-4)
    with pytest.raises(DfkdError, match="do not fit torchvision 'resnet34'"):
        load_teacher(tmp_path / "tv.pth", arch="torchvision:resnet34")


def _tiny_transformers_classifier(folder):
    from transformers import ResNetConfig, ResNetForImageClassification
    config = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3,
                          id2label={0: "cat", 1: "dog", 2: "fox"}, label2id={"cat": 0, "dog": 1, "fox": 2})
    torch.manual_seed(0)
    model = ResNetForImageClassification(config).eval()
    model.save_pretrained(folder)
    return model


def test_transformers_folder(tmp_path):
    model = _tiny_transformers_classifier(tmp_path / "hf")
    teacher = load_teacher(tmp_path / "hf")
    assert teacher.class_names == ["cat", "dog", "fox"]
    x = torch.rand(2, 3, 224, 224)
    assert torch.allclose(teacher(x), model(pixel_values=teacher.preprocess(x)).logits, atol=1e-5)
    logits, feats = teacher.logits_and_features(x)
    assert feats.shape == (2, 16)


def test_hub_id_offline_gives_a_clear_error():
    with pytest.raises(DfkdError, match="Could not load a transformers image classifier from 'someone/nothing-here'"):
        load_teacher("someone/nothing-here", local_files_only=True)
