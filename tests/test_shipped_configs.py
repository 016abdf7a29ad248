"""Every shipped config in configs/ runs end to end through `dfkd run` on a CPU, after changing
only budgets (counts, steps, epochs, batch sizes), the device and paths: the CIFAR GPU
configs get tiny random stand-ins in the real layouts (a Fast-Datafree/CMI .pth teacher, the
google/ddpm-cifar10-32 pixel UNet, the Stable Diffusion folder) and a tiny fake CIFAR-10 in
torchvision's on-disk layout given by --data-dir; the Fashion-MNIST ones a tiny fake
Fashion-MNIST (IDX files) given by --data-dir and $DFKD_DATA, so the real loaders are used."""

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from fake_cifar import fake_cifar10
from tiny_models import tiny_pixel_prior, tiny_stable_diffusion

from dfkd_core.cli import main
from dfkd_core.models.zoo import build_model
from dfkd_core.pipeline.folder import differences

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))
FAST = {"fmnist-noise.yaml"}  # the others take longer than a fast test should
# Budgets: the only settings (by name, at any depth) a shrunk config may change, and their tiny values.
BUDGETS = {"per_class": 1, "count": 20, "epochs": 1, "iterations": 2, "variations": 1, "eval_subset": 20,
           "batch_size": 10, "steps": 4}
PATHS = {"teacher", "backbone", "source", "path"}  # models (the source of a teacher mapping), shards: stand-ins


def _write_idx(path: Path, array: np.ndarray):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _tiny_shards(folder: Path) -> str:
    """8 grey 28x28 samples (<key>.png, <key>.cls) in 2 WebDataset shards, as `dfkd export` writes them."""
    import io

    import webdataset as wds
    from PIL import Image
    folder.mkdir()
    with wds.ShardWriter(str(folder / "shard-%06d.tar"), maxcount=4, verbose=0) as sink:
        for i in range(8):
            png = io.BytesIO()
            Image.fromarray(np.full((28, 28), 30 * i, np.uint8)).save(png, format="PNG")
            sink.write({"__key__": f"s{i}", "png": png.getvalue(), "cls": i % 10})
    return str(folder)


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    """Tiny models and datasets in the layouts the shipped configs name."""
    root = tmp_path_factory.mktemp("stand-ins")
    data = fake_cifar10(root / "data")
    fm = root / "data" / "fashion-mnist"
    fm.mkdir()
    rng = np.random.default_rng(0)
    # 60,000 training images: the demo task's splits (teacher-train, pool) are index ranges of them.
    for prefix, n in (("train", 60_000), ("t10k", 100)):
        _write_idx(fm / f"{prefix}-images-idx3-ubyte.gz", np.repeat(rng.integers(0, 256, (n, 1, 28)), 28, 1))
        _write_idx(fm / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    teachers = {}
    for arch, name in (("wrn_40_2", "cifar10_wrn40_2.pth"), ("resnet34", "cifar10_resnet34.pth")):
        torch.manual_seed(0)  # Fast-Datafree/CMI's checkpoint layout
        torch.save({"epoch": 1, "state_dict": build_model(arch, 10, 3).state_dict(), "best_acc1": 0.1}, root / name)
        teachers[name] = str(root / name)
    backbones = {"google/ddpm-cifar10-32": str(tiny_pixel_prior(root / "ddpm-cifar10-32", channels=3, size=32)),
                 "runwayml/stable-diffusion-v1-5": str(tiny_stable_diffusion(root / "sd"))}
    shards = {"fmnist-diffdfkd-shards": _tiny_shards(root / "fmnist-diffdfkd-shards")}
    return {"data": data, "fmnist": fm, "teachers": teachers, "backbones": backbones, "shards": shards}


def shrink(value, tiny, key=None):
    """The config with budgets made tiny, the device cpu, and models replaced by stand-ins."""
    if isinstance(value, dict):
        out = {k: shrink(v, tiny, k) for k, v in value.items()}
        if isinstance(out.get("cutmix"), dict):  # keep Latent CutMix inside the fewer steps
            out["cutmix"]["at_steps"] = [min(s, BUDGETS["steps"] - 1) for s in out["cutmix"]["at_steps"]]
        return out
    if isinstance(value, list):
        return [shrink(v, tiny, key) for v in value]
    if key in BUDGETS and isinstance(value, int) and not isinstance(value, bool):
        return min(value, BUDGETS[key])
    if key == "device":
        return "cpu"
    if key in ("source", "teacher") and isinstance(value, str) and Path(value).name in tiny["teachers"]:
        return tiny["teachers"][Path(value).name]
    if key == "path" and isinstance(value, str) and Path(value).name in tiny["shards"]:
        return tiny["shards"][Path(value).name]
    if key == "backbone" and value in tiny["backbones"]:
        return tiny["backbones"][value]
    return value


def test_shrinking_changes_only_budgets_device_and_paths(stand_ins):
    for path in CONFIGS:
        cfg = yaml.safe_load(path.read_text())
        for change in differences(cfg, shrink(cfg, stand_ins)):
            name = change.split(":")[0].split(".")[-1].split("[")[0]
            assert name in {*BUDGETS, *PATHS, "device", "at_steps"}, (path.name, change)


@pytest.mark.parametrize("path", [pytest.param(p, marks=() if p.name in FAST else pytest.mark.slow, id=p.stem)
                                  for p in CONFIGS])
def test_shipped_config_runs_end_to_end_on_cpu(path, stand_ins, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DFKD_DATA", str(stand_ins["fmnist"]))  # e.g. HiDFD's real images (source: demo)
    cfg = shrink(yaml.safe_load(path.read_text()), stand_ins)
    small = tmp_path / path.name
    small.write_text(yaml.safe_dump(cfg, sort_keys=False))
    data_dir = stand_ins["data"] if "cifar10" in path.name else stand_ins["fmnist"]
    out = tmp_path / "run"
    args = ["run", str(small), "--out", str(out), "--device", "cpu", "--data-dir", str(data_dir)]
    assert main(args) == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert 0.0 <= results["student_test_acc"] <= 1.0 and results["train_images"] > 0
    assert (out / f"{len(cfg['stages']):02d}-distill" / "student.safetensors").exists()
    assert main(args) == 0  # a rerun skips every finished stage
    assert capsys.readouterr().out.count("done earlier, skipped") == len(cfg["stages"])
