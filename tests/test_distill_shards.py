"""A distill stage that streams WebDataset shards (#20): `dfkd run` with [shards, distill] and
`dfkd distill --shards` train a student from `dfkd export STORE --format webdataset`, in one
process and under torchrun (each rank its own shards), and bad shards are refused before any work.

Same student as from the store? Not bit for bit with mini-batches: the store draws a global
permutation (torch.randperm), which a stream with a bounded shuffle buffer cannot reproduce.
With one full batch per epoch (no augmentation) the order does not matter and both give the
same weights up to float summation order (atol 1e-4). With mini-batches, both students must
learn (>= 0.85, chance 0.25) and differ by at most 0.05 on the 200-image test set (about three
binomial standard errors near 0.95), as two seeds do."""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch
import yaml
from distill_kit import quadrant_images, save_image_folder, train_teacher
from safetensors.torch import load_file

from dfkd_core.cli import main
from dfkd_core.data.shard_stream import ShardStream
from dfkd_core.errors import DfkdError
from dfkd_core.io import load_state
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.store.export import export_store

ROOT = Path(__file__).resolve().parent.parent
COUNT, LEARNED, TOLERANCE = 96, 0.85, 0.05
DISTILL = {"student": "small_cnn", "epochs": 4, "batch_size": 16, "lr": 0.05, "crop_pad": 0, "flip": False,
           "onnx": False}


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A teacher, a 96-image store labelled by it, its export in shards of 40 (40 + 40 + 16), and
    a 200-image test folder."""
    root = tmp_path_factory.mktemp("shards")
    card = train_teacher(root)
    save_image_folder(quadrant_images(COUNT, 5), root / "data" / "train")
    save_image_folder(quadrant_images(200, 11), root / "data" / "test")
    cfg = {"teacher": str(card), "device": "cpu", "stages": [{"real": {"dataset": str(root / "data")}}]}
    run_pipeline(cfg, root / "src", log=lambda m: None)
    export_store(root / "src" / "01-real", "webdataset", root / "wds", shard_size=40)
    return {"card": str(card), "store": root / "src" / "01-real", "shards": root / "wds", "data": root / "data"}


def config(kit, source: dict, **distill) -> dict:
    return {"teacher": kit["card"], "device": "cpu",
            "stages": [source, {"distill": {**DISTILL, "eval": str(kit["data"]), **distill}}]}


def run(cfg: dict, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{out.name}.yaml").write_text(yaml.safe_dump(cfg))
    return main(["run", str(out.parent / f"{out.name}.yaml"), "--out", str(out)])


def test_dfkd_run_trains_a_student_from_shards(kit, tmp_path):
    assert run(config(kit, {"shards": {"path": str(kit["shards"]), "shuffle": 30}}), tmp_path / "wds") == 0
    done = json.loads((tmp_path / "wds" / "01-shards" / "DONE.json").read_text())
    assert done["shards"] == {"path": str(kit["shards"]), "shuffle": 30} and done["store"] is None
    results = json.loads((tmp_path / "wds" / "results.json").read_text())
    assert results["train_images"] == COUNT and results["images"] == COUNT
    assert (tmp_path / "wds" / "02-distill" / "checkpoint.safetensors").exists()
    assert (tmp_path / "wds" / "02-distill" / "student.safetensors").exists()
    assert run(config(kit, {"samples": {"path": str(kit["store"])}}), tmp_path / "store") == 0
    from_store = json.loads((tmp_path / "store" / "results.json").read_text())
    assert min(results["student_test_acc"], from_store["student_test_acc"]) >= LEARNED
    assert abs(results["student_test_acc"] - from_store["student_test_acc"]) <= TOLERANCE
    assert run(config(kit, {"shards": {"path": str(kit["shards"]), "shuffle": 30}}), tmp_path / "wds") == 0
    assert json.loads((tmp_path / "wds" / "results.json").read_text()) == results  # resumed: nothing redone


def test_one_full_batch_gives_the_store_s_student(kit, tmp_path):
    full = {"batch_size": COUNT, "epochs": 3}
    for name, source in (("store", {"samples": {"path": str(kit["store"])}}),
                         ("wds", {"shards": {"path": str(kit["shards"])}})):
        run_pipeline(config(kit, source, **full), tmp_path / name, log=lambda m: None)
    a, b = (load_file(tmp_path / name / "02-distill" / "student.safetensors") for name in ("store", "wds"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-4, rtol=1e-4)


def test_a_stopped_shards_run_resumes_to_the_uninterrupted_student(kit, tmp_path):
    cfg = config(kit, {"shards": {"path": str(kit["shards"]), "shuffle": 30}}, epochs=3, eval=None)
    run_pipeline(cfg, tmp_path / "whole", log=lambda m: None)
    polls = iter(range(1, 10**6))
    stopped = run_pipeline(cfg, tmp_path / "cut", log=lambda m: None, should_stop=lambda: next(polls) > 9)
    assert stopped.cancelled  # 6 steps an epoch: stopped in epoch 2; the rerun goes on from the step it stopped at
    cut_at = load_state(tmp_path / "cut" / "02-distill" / "checkpoint.safetensors")
    assert (cut_at["epoch"], cut_at["step"]) == (1, 2)  # the rerun reads the shards again and skips 2 batches
    run_pipeline(cfg, tmp_path / "cut", log=lambda m: None)
    a, b = (load_file(tmp_path / name / "02-distill" / "student.safetensors") for name in ("whole", "cut"))
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_shards_inside_the_run_folder_are_handed_on_relative(kit, tmp_path):
    out = tmp_path / "run"
    export_store(kit["store"], "webdataset", out / "data", shard_size=50)
    assert run(config(kit, {"shards": {"path": str(out / "data")}}, epochs=1, eval=None), out) == 0
    assert json.loads((out / "01-shards" / "DONE.json").read_text())["shards"]["path"] == "data"


def identities(batches) -> list[bytes]:
    return [x.mul(255).round().byte().numpy().tobytes() for images, _ in batches for x in images]


def test_ranks_read_disjoint_shards_with_as_many_steps(kit, monkeypatch):
    stream = ShardStream(kit["shards"], shuffle=10)
    everything = identities(stream.batches(7, shuffle=True))
    assert len(set(everything)) == COUNT
    monkeypatch.setenv("WORLD_SIZE", "2")
    seen, steps = [], []
    for rank in ("0", "1"):
        monkeypatch.setenv("RANK", rank)
        share = stream.rank_share(seed=3)
        batches = list(share.batches(epoch=1, batch=8))
        steps.append(len(batches))
        seen.append(identities(batches))
    assert share.totals == [56, 40] and steps == [5, 5]  # shards 0 + 2 | shard 1; 40 fill 5 batches of 8
    assert share.used_per_epoch(8) == 80 and len(set(seen[0])) == len(set(seen[1])) == 40  # 16 of 56 left out
    assert set(seen[0]).isdisjoint(seen[1]) and set(seen[0]) | set(seen[1]) <= set(everything)
    monkeypatch.setenv("WORLD_SIZE", "4")
    with pytest.raises(DfkdError, match="3 shard\\(s\\) for 4 processes"):
        stream.rank_share(seed=0)


def test_an_export_s_counts_spare_reading_every_header(kit, monkeypatch):
    import dfkd_core.data.shard_stream as shard_stream
    scanned = []
    count = shard_stream.count_samples
    monkeypatch.setattr(shard_stream, "count_samples", lambda path: scanned.append(Path(path).name) or count(path))
    assert ShardStream(kit["shards"]).counts == [40, 40, 16] and scanned == ["shard-000000.tar"]


def _tar(path: Path, members: dict):
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("case, expected", [
    ("missing", "No folder at"),
    ("empty", "No WebDataset shards \\(.tar\\)"),
    ("no_cls", "sample 'a' has no .cls member"),
    ("not_tar", "not a readable tar shard"),
    ("replaced", "shard-000001.tar: sample 'b' has no .cls member"),  # info.json's sizes no longer match
    ("order", "the stages must be \\[shards, distill\\]"),
    ("shuffle", "shuffle"),
])
def test_bad_shards_are_refused_before_any_work(kit, tmp_path, capsys, case, expected):
    folder = tmp_path / "shards"
    if case != "missing":
        folder.mkdir()
    if case == "no_cls":
        _tar(folder / "shard-000000.tar", {"a.png": b"x", "a.json": b"{}"})
    if case == "not_tar":
        (folder / "shard-000000.tar").write_bytes(b"not a tar archive at all" * 40)
    if case == "replaced":
        folder.rmdir()
        shutil.copytree(kit["shards"], folder)
        _tar(folder / "shard-000001.tar", {"b.png": b"x"})
    source = {"shards": {"path": str(kit["shards"] if case in ("order", "shuffle") else folder)}}
    if case == "shuffle":
        source["shards"]["shuffle"] = -1
    cfg = config(kit, source)
    if case == "order":
        cfg["stages"].insert(1, {"filter": {}})
    out = tmp_path / "run"
    assert run(cfg, out) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and re.search(expected, err), err
    assert not out.exists()  # refused before the run folder was claimed
    if case in ("missing", "empty", "no_cls", "not_tar", "replaced"):
        assert str(folder) in err


def test_dfkd_distill_takes_shards_or_samples_not_both(kit, tmp_path, capsys):
    assert main(["distill", "--samples", str(kit["store"]), "--shards", str(kit["shards"]), "--out", str(tmp_path)]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_processes_distill_from_shards(kit, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "dfkd_core.cli", "distill", "--shards", str(kit["shards"]), "--teacher", kit["card"],
                           "--student", "small_cnn", "--epochs", "4", "--batch-size", "16", "--lr", "0.05",
                           "--eval", str(kit["data"]), "--device", "cpu", "--no-onnx", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["train_images"] == COUNT and results["train_images_per_epoch"] == 80  # 2 x 40: 16 left out
    assert results["student_test_acc"] >= LEARNED
    assert sorted(p.name for p in (out / "02-distill").glob("checkpoint*")) == ["checkpoint.safetensors"]
    assert load_state(out / "02-distill" / "checkpoint.safetensors")["processes"] == 2
