"""Teacher cards are untrusted input (the app loads uploaded ones): every size a card declares
is bounded by the weights actually present before anything is allocated, and its `weights`
field cannot reach outside the card's folder nor tell whether a file exists elsewhere."""

import json
import os

import pytest
import torch
from torch import nn

from dfkd_core import DfkdError
from dfkd_core.models.checkpoints import save_classifier
from dfkd_core.models.simkd import SimKDStudent
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.loading import load_teacher

BIGGEST_TENSOR = 3_000_000  # elements; the largest tensor of the models here holds 2.4 M (vgg8)


class TooBig(Exception):
    pass


@pytest.fixture
def no_big_tensors(monkeypatch):
    """Fails (instead of allocating) if loading asks for a tensor a tiny card's weights cannot justify."""
    empty = torch.empty

    def guarded(*size, **kwargs):
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
        if shape and all(isinstance(s, int) for s in shape) and torch.Size(shape).numel() > BIGGEST_TENSOR:
            raise TooBig(f"asked to allocate {tuple(shape)}")
        return empty(*size, **kwargs)

    monkeypatch.setattr(torch, "empty", guarded)


def _card(**fields):
    return {**dict(arch="resnet8", num_classes=10, in_channels=1, input_size=32, mean=[0.5], std=[0.25],
                   class_names=list("abcdefghij")), **fields}


def _simkd_card(folder):
    torch.manual_seed(0)
    student = SimKDStudent(build_model("resnet8", 10, 1), nn.Linear(48, 10)).eval()
    _, card_path = save_classifier(folder / "student", student, _card(simkd_teacher_dim=48))
    return student, card_path


def _edit(card_path, **changes):
    card = json.loads(card_path.read_text())
    card.update(changes)
    card_path.write_text(json.dumps(card))
    return card_path


def test_a_simkd_card_loads_with_the_sizes_of_its_weights(tmp_path):
    student, card_path = _simkd_card(tmp_path)
    teacher = load_teacher(card_path)
    x = torch.rand(2, 1, 32, 32)
    assert torch.allclose(teacher(x), student((x - 0.5) / 0.25), atol=1e-5)


def test_a_huge_simkd_dim_is_refused_before_allocating(tmp_path, no_big_tensors):
    _, card_path = _simkd_card(tmp_path)
    _edit(card_path, simkd_teacher_dim=1_000_000)
    with pytest.raises(DfkdError, match=r"simkd_teacher_dim 1000000, but the weights' shared classifier "
                                        r"\(head.weight\) is \(10, 48\)"):
        load_teacher(card_path)


def test_a_huge_class_count_is_refused_before_allocating(tmp_path, no_big_tensors):
    # The weights are a VGG's: no `linear.weight` head for resnet8 to read the class count from.
    _, card_path = save_classifier(tmp_path / "t", build_model("vgg8", 10, 1), _card(arch="vgg8"))
    _edit(card_path, arch="resnet8", num_classes=100_000, class_names=None)
    with pytest.raises(DfkdError, match="do not fit architecture 'resnet8'.*The file matches: vgg8"):
        load_teacher(card_path)


@pytest.mark.parametrize("change, message", [
    ({"input_size": 100_000_000}, "`input_size` must be a whole number from 1 to 2048"),
    ({"input_size": "32"}, "`input_size` must be a whole number"),
    ({"num_classes": 12}, "class_names` must be 12 names"),
    ({"in_channels": 3}, "`mean` must be a list of 3 finite numbers"),
    ({"mean": [float("nan")]}, "`mean` must be a list of 1 finite numbers"),
    ({"std": [0.0]}, "`std` must be a list of 1 positive finite numbers"),
    ({"class_names": ["x"] * 9}, "`class_names` must be 10 names"),
    ({"arch": ["resnet8"]}, "`arch` must name an architecture"),
])
def test_bad_card_fields_are_refused_with_what_is_expected(tmp_path, no_big_tensors, change, message):
    _, card_path = save_classifier(tmp_path / "t", build_model("resnet8", 10, 1), _card())
    with pytest.raises(DfkdError, match=message):
        load_teacher(_edit(card_path, **change))


def test_a_card_disagreeing_with_its_weights_names_both(tmp_path, no_big_tensors):
    _, card_path = save_classifier(tmp_path / "t", build_model("resnet8", 10, 1), _card())
    with pytest.raises(DfkdError, match="asked for 3 but the checkpoint's first convolution takes 1"):
        load_teacher(_edit(card_path, in_channels=3, mean=[0.5] * 3, std=[0.5] * 3))


def test_weights_outside_the_card_folder_are_refused_alike_whether_or_not_they_exist(tmp_path):
    secret_dir = tmp_path / "elsewhere"
    secret, _ = save_classifier(secret_dir / "secret", build_model("resnet8", 10, 1), _card())
    folder = tmp_path / "upload"
    _, card_path = save_classifier(folder / "t", build_model("resnet8", 10, 1), _card())
    os.symlink(secret, folder / "link.safetensors")
    messages = {}
    for name, exists in [(str(secret), True), (str(secret_dir / "none.safetensors"), False),
                         ("../elsewhere/secret.safetensors", True), ("../elsewhere/none.safetensors", False),
                         ("link.safetensors", True)]:
        with pytest.raises(DfkdError) as e:
            load_teacher(_edit(card_path, weights=name))
        messages.setdefault(exists, []).append(str(e.value).replace(repr(name), "NAME"))
        assert "must be the name of a file in the card's own folder" in str(e.value)
    assert len({*messages[True], *messages[False]}) == 1  # nothing tells an existing file from a missing one
    _edit(card_path, weights="t.safetensors")
    assert load_teacher(card_path).num_classes == 10


def test_a_huge_card_file_is_not_read(tmp_path):
    _, card_path = save_classifier(tmp_path / "t", build_model("resnet8", 10, 1), _card())
    card = json.loads(card_path.read_text())
    card["notes"] = "x" * (2 << 20)
    card_path.write_text(json.dumps(card))
    with pytest.raises(DfkdError, match="a classifier card is a small JSON file"):
        load_teacher(card_path)
