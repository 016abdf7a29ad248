import json
import subprocess
import sys

import torch
from conftest import two_class_folder

from dfkd_core.cli import main
from dfkd_core.models.zoo import build_model


def _fast_datafree_file(path, arch="vgg8", num_classes=10):
    torch.save({"epoch": 1, "state_dict": build_model(arch, num_classes, 3).state_dict(), "best_acc1": 0.9}, path)


def test_inspect_fast_datafree_checkpoint(tmp_path, capsys):
    _fast_datafree_file(tmp_path / "cifar10_vgg8.pth")
    assert main(["teacher", "inspect", "--arch", "vgg8_bn", "--checkpoint", str(tmp_path / "cifar10_vgg8.pth")]) == 0
    out = capsys.readouterr().out
    assert "architecture:  vgg8_bn" in out
    assert f"parameters:    {sum(p.numel() for p in build_model('vgg8').parameters()):,}" in out
    assert "BN layers:     5" in out and "classes:       10 (airplane" in out


def test_inspect_mismatched_and_corrupt_files_exit_nonzero_with_one_paragraph(tmp_path):
    _fast_datafree_file(tmp_path / "t.pth", arch="resnet34", num_classes=100)
    (tmp_path / "corrupt.pth").write_bytes(b"PK\x03\x04garbage")
    for args in (["--arch", "resnet18", "--checkpoint", str(tmp_path / "t.pth")],
                 ["--arch", "resnet34", "--num-classes", "10", "--checkpoint", str(tmp_path / "t.pth")],
                 ["--arch", "resnet34", "--checkpoint", str(tmp_path / "corrupt.pth")]):
        proc = subprocess.run([sys.executable, "-m", "dfkd_core.cli", "teacher", "inspect", *args],
                              capture_output=True, text=True)
        assert proc.returncode == 2
        assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
        assert proc.stderr.strip().count("\n") == 0  # one paragraph
    first = subprocess.run([sys.executable, "-m", "dfkd_core.cli", "teacher", "inspect", "--arch", "resnet18",
                            "--checkpoint", str(tmp_path / "t.pth")], capture_output=True, text=True)
    assert "unexpected keys" in first.stderr and "The file matches: resnet34" in first.stderr


def test_train_writes_weights_card_and_resumes(tmp_path, capsys):
    two_class_folder(tmp_path / "data", {"train": 24, "test": 8})
    args = ["teacher", "train", "--arch", "small_cnn", "--dataset", str(tmp_path / "data"), "--split", "train",
            "--epochs", "3", "--batch-size", "8", "--lr", "0.05", "--out", str(tmp_path / "out" / "tiny"),
            "--work-dir", str(tmp_path / "work")]
    assert main(args) == 0
    card = json.loads((tmp_path / "out" / "tiny.json").read_text())
    assert card["arch"] == "small_cnn" and card["class_names"] == ["dark", "light"] and card["in_channels"] == 1
    assert card["epochs"] == 3 and len(card["metrics"]) == 3 and card["test_accuracy"] >= 0.75
    assert card["command"].startswith("dfkd teacher train --arch small_cnn")
    assert (tmp_path / "work" / "metrics.csv").read_text().count("\n") == 4
    # Rerunning resumes from the finished checkpoint: no epoch is trained again.
    assert main(args) == 0
    again = json.loads((tmp_path / "out" / "tiny.json").read_text())
    assert again["metrics"] == card["metrics"]
    # The trained model loads back as a teacher and evaluates through the CLI.
    capsys.readouterr()
    assert main(["teacher", "inspect", "--checkpoint", str(tmp_path / "out" / "tiny.json"),
                 "--eval", str(tmp_path / "data"), "--split", "test"]) == 0
    assert "test accuracy:" in capsys.readouterr().out
