"""`dfkd generate` across processes (torchrun, accelerate launch; gloo on CPU): the store
ends byte for byte as a one-process run's, and a run whose rank died is finished by
rerunning it with another process count, every sample exactly once."""

import json
import os
import socket
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from tiny_models import tiny_generate_kit

from dfkd_core.methods.base import Key
from dfkd_core.methods.writer import share

PER_CLASS, BATCH = 3, 2  # 9 samples in 5 batches: the ranks get 3 and 2


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return tiny_generate_kit(tmp_path_factory.mktemp("kit"))


def _port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


LAUNCHERS = {  # accelerate's --cpu runs ONE process without MPI; --multi_gpu on a CPU machine runs torchrun + gloo
    "single": lambda n: [],
    "torchrun": lambda n: ["-m", "torch.distributed.run", "--nproc_per_node", str(n), "--master_port", _port()],
    "accelerate": lambda n: ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(n),
                             "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                             "--main_process_port", _port()],
}


def generate(kit, out, launcher="single", processes=2, cutmix=False, **env):
    args = ["generate", "--teacher", kit["teacher"], "--backbone", kit["backbone"], "--per-class", str(PER_CLASS),
            "--batch-size", str(BATCH), "--steps", "3", "--strength", "0.3", "--device", "cpu", "--out", str(out)]
    if cutmix:
        args += ["--cutmix-steps", "1"]
    cmd = [sys.executable, *LAUNCHERS[launcher](processes), "-m", "dfkd_core.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", **env})


def snapshot(out) -> dict:
    """Every file of the store byte for byte, the rows (raw: a duplicate would show) sorted by id
    without their creation time, and config.yaml without the output folder."""
    rows = pd.read_csv(out / "metadata.csv", dtype=str, keep_default_na=False)
    assert rows["id"].is_unique, "a sample stored twice"
    images = {p.name: p.read_bytes() for p in sorted((out / "images").iterdir())}
    config = [line for line in (out / "config.yaml").read_text().splitlines() if not line.startswith("out:")]
    return {"rows": rows.drop(columns="created").sort_values("id").reset_index(drop=True).to_dict("records"),
            "images": images, "settings": (out / "settings.json").read_text(),
            "backbone": (out / "backbone.json").read_text(), "config": config}


@pytest.fixture(scope="module")
def single(kit, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "run"
    done = generate(kit, out)
    assert done.returncode == 0, done.stderr
    return snapshot(out)


def test_share_splits_the_plan_by_batch_disjointly():
    keys = [Key(s, s % 3) for s in range(11)]
    shares = [share(keys, 4, r, 3) for r in range(3)]
    assert shares == [[keys[0:4]], [keys[4:8]], [keys[8:11]]]
    assert sorted(k.seed for r in range(2) for b in share(keys, 3, r, 2) for k in b) == list(range(11))


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["torchrun", "accelerate"])
def test_two_processes_make_the_store_of_one(kit, single, tmp_path, launcher):
    done = generate(kit, tmp_path / "run", launcher)
    assert done.returncode == 0, done.stderr
    assert snapshot(tmp_path / "run") == single
    assert len(single["images"]) == 3 * PER_CLASS
    assert done.stdout.count("9 samples in") == 1  # rank 0 reports, once


@pytest.mark.slow
def test_dfkd_run_under_torchrun_makes_the_store_of_one_process_and_its_files_once(kit, single, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({"name": "two", "teacher": kit["teacher"], "device": "cpu", "stages": [
        {"generate": {"backbone": kit["backbone"], "per_class": PER_CLASS, "batch_size": BATCH,
                      "guidance": {"steps": 3, "strength": 0.3}}}]}))
    out = tmp_path / "out"
    cmd = [sys.executable, *LAUNCHERS["torchrun"](2), "-m", "dfkd_core.cli", "run", str(config), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    got = snapshot(out / "01-generate")
    assert {k: got[k] for k in ("rows", "images", "settings")} == {k: single[k] for k in ("rows", "images", "settings")}
    assert json.loads((out / "results.json").read_text())["images"] == 3 * PER_CLASS
    assert (out / "01-generate" / "DONE.json").is_file() and done.stdout.count("run folder:") == 1


@pytest.mark.slow
def test_a_dead_rank_is_finished_by_a_rerun_with_another_process_count(kit, single, tmp_path):
    out = tmp_path / "run"
    died = generate(kit, out, "accelerate", DFKD_DIE_AFTER="1:1")  # rank 1 dies after its first batch
    assert died.returncode != 0
    partial = pd.read_csv(out / "metadata.csv")
    assert 0 < len(partial) < 3 * PER_CLASS  # rank 1's first batch is in: two processes ran
    done = generate(kit, out, "torchrun", processes=3)
    assert done.returncode == 0, done.stderr
    assert snapshot(out) == single


@pytest.mark.slow
def test_with_latent_cutmix_the_batches_and_so_the_images_are_kept(kit, tmp_path):
    """CutMix pairs partners within a batch: the ranks make the one-process run's batches."""
    alone, shared = tmp_path / "alone", tmp_path / "shared"
    assert generate(kit, alone, cutmix=True).returncode == 0
    done = generate(kit, shared, "torchrun", cutmix=True)
    assert done.returncode == 0, done.stderr
    got, want = snapshot(shared), snapshot(alone)
    assert got == want and any(r["cutmix"] != "[]" for r in got["rows"])


def test_adv_with_several_processes_is_refused(kit, tmp_path, monkeypatch):
    from dfkd_core.errors import DfkdError
    from dfkd_core.methods.diffdfkd.config import GenerateConfig
    from dfkd_core.methods.diffdfkd.generate import run_generation
    monkeypatch.setenv("WORLD_SIZE", "2")
    cfg = GenerateConfig.from_dict({"out": str(tmp_path / "run"), **kit, "per_class": 1,
                                    "guidance": {"steps": 2, "adv": 1.0}})
    with pytest.raises(DfkdError, match="online student"):
        run_generation(cfg)
