"""Data-parallel distillation (#20): `dfkd distill` under torchrun and `accelerate launch`
with 2 CPU processes (gloo), against the same command in one process; the evaluation
reduced over ranks; exact resume over 2 processes; a stop asked on rank 0 stops every rank.

Tolerance: 2 processes train on the same global batches' size with the same lr schedule,
but the images are shuffled and augmented by other draws (DistributedSampler, one
generator per rank), so the student differs as two seeds do. On the 200-image quadrant
test set the binomial standard error of an accuracy near 0.95 is about 0.015; the two
runs may differ by 0.05 (about 3 standard errors), and both must learn (>= 0.85; chance 0.25)."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from distill_kit import quadrant_images, save_image_folder, train_teacher
from safetensors.torch import load_file

from dfkd_core import DfkdError
from dfkd_core.cli import main
from dfkd_core.io import load_state
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.distill.parallel import per_rank_batch
from dfkd_core.teacher.evaluate import share

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE, LEARNED = 0.05, 0.85
# Tests that launch 2 Python processes are slow: 15-60 s each on a loaded 2-core machine.


def launch(launcher: list[str], args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    if launcher is ACCELERATE:
        launcher = [*launcher, free_port()]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "HF_HOME": str(tmp / "hf"),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([*launcher, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
# `accelerate launch --cpu --num_processes 2` starts ONE process unless MPI is set up (accelerate
# 1.x); --multi_gpu on a machine without a GPU starts 2 (torchrun inside) and dfkd picks gloo.
ACCELERATE = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_port"]


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A teacher, a 256-image sample store labelled by it, and a 200-image test folder."""
    root = tmp_path_factory.mktemp("kit")
    card = train_teacher(root)
    save_image_folder(quadrant_images(256, 10), root / "data" / "train")
    save_image_folder(quadrant_images(200, 11), root / "data" / "test")
    cfg = {"teacher": str(card), "device": "cpu",
           "stages": [{"real": {"dataset": str(root / "data"), "split": "train"}}]}
    run_pipeline(cfg, root / "src", log=lambda m: None)
    return card, root / "src" / "01-real", root / "data"


def distill_args(kit, out: Path, epochs: int = 3) -> list[str]:
    card, store, data = kit
    return ["distill", "--samples", str(store), "--teacher", str(card), "--student", "resnet8", "--epochs",
            str(epochs), "--batch-size", "32", "--lr", "0.05", "--eval", str(data), "--device", "cpu",
            "--out", str(out)]


@pytest.fixture(scope="module")
def one_process(kit, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "d"
    torch.set_num_threads(1)
    assert main(distill_args(kit, out)) == 0
    return json.loads((out / "results.json").read_text())


def written_once(out: Path):
    stage = out / "02-distill"
    files = sorted(p.name for p in stage.iterdir())
    assert files == ["DONE.json", "checkpoint.safetensors", "metrics.csv", "student.json", "student.onnx",
                     "student.safetensors"], files  # one of each, no leftover temporary file


@pytest.mark.slow
@pytest.mark.parametrize("launcher", [TORCHRUN, ACCELERATE], ids=["torchrun", "accelerate"])
def test_two_processes_reach_the_one_process_accuracy(kit, one_process, tmp_path, launcher):
    out = tmp_path / "d"
    done = launch(launcher, ["-m", "dfkd_core.cli", *distill_args(kit, out)], tmp_path)
    results = json.loads((out / "results.json").read_text())
    assert one_process["student_test_acc"] >= LEARNED and results["student_test_acc"] >= LEARNED
    assert abs(results["student_test_acc"] - one_process["student_test_acc"]) <= TOLERANCE
    assert done.stdout.count("student_test_acc") == 1  # rank 0 alone reports
    written_once(out)
    checkpoint = load_state(out / "02-distill" / "checkpoint.safetensors")
    assert checkpoint["processes"] == 2 and len(checkpoint["ranks"]) == 2 and checkpoint["epoch"] == 3
    card = json.loads((out / "02-distill" / "student.json").read_text())
    assert card["test_accuracy"] == card["metrics"][-1]["test_acc"] == results["student_test_acc"]


@pytest.mark.slow
def test_the_evaluation_over_two_ranks_counts_every_test_image_once(tmp_path):
    """7 images shared 3 + 4: rank 0's share alone scores 2/3, the mean of the ranks' accuracies
    (2/3 + 1/4) / 2; the whole test set scores 3/7, on both ranks."""
    launch(TORCHRUN, [str(ROOT / "tests" / "ddp_workers.py"), "eval", str(tmp_path)], tmp_path)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert sorted(ranks[0]["seen"] + ranks[1]["seen"]) == list(range(7))
    assert ranks[0]["accuracy"] == ranks[1]["accuracy"] == pytest.approx(3 / 7)


@pytest.mark.slow
def test_srun_s_variables_alone_launch_the_ranks(tmp_path):
    """Under srun there is no RANK / WORLD_SIZE / LOCAL_RANK, which accelerate reads: the
    SLURM_* variables stand in for them (the evaluation above, over 2 processes started by hand)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), SLURM_NTASKS="2", MASTER_PORT=free_port())
    ranks = [subprocess.Popen([sys.executable, str(ROOT / "tests" / "ddp_workers.py"), "eval", str(tmp_path)],
                              env={**env, "SLURM_PROCID": str(r), "SLURM_LOCALID": str(r)}, cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    for rank in ranks:
        assert rank.wait(timeout=300) == 0, rank.stderr.read()[-3000:]
    seen = [json.loads((tmp_path / f"rank{r}.json").read_text())["seen"] for r in (0, 1)]
    assert sorted(seen[0] + seen[1]) == list(range(7)) and seen[0] and seen[1]


def test_one_process_never_touches_torch_distributed(monkeypatch):
    from dfkd_core.runtime import distributed
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.world() == (0, 1, 0) and distributed.init_if_needed("cuda") == "cuda"
    distributed.barrier()
    assert distributed.any_rank(True) and distributed.sums(1.5, 2.0) == [1.5, 2.0]
    assert distributed.from_main(None) is None and distributed.every_rank({"a": torch.ones(1)})[0]["a"] == 1
    assert not torch.distributed.is_initialized() and distributed._STATE is None


@pytest.mark.parametrize("n, processes", [(7, 2), (200, 3), (2, 4), (0, 2)])
def test_shares_are_disjoint_and_cover_every_item(n, processes):
    shares = [list(share(n, r, processes)) for r in range(processes)]
    assert sorted(sum(shares, [])) == list(range(n))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_a_global_batch_the_processes_cannot_share_evenly_is_refused():
    assert per_rank_batch(64, 2) == 32 and per_rank_batch(7, 1) == 7
    with pytest.raises(DfkdError, match="multiple of 2"):
        per_rank_batch(65, 2)


@pytest.mark.slow
def test_resume_over_two_processes_is_exact_and_a_stop_on_rank_0_stops_both(kit, tmp_path):
    card, store, data = kit
    cfg = {"teacher": str(card), "device": "cpu", "stages": [
        {"samples": {"path": str(store)}},
        {"distill": {"student": "resnet8", "epochs": 2, "batch_size": 32, "lr": 0.05, "mixup": 1.0,
                     "eval": str(data), "onnx": False}}]}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    worker = [str(ROOT / "tests" / "ddp_workers.py"), "run", str(tmp_path / "cfg.json")]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    whole.mkdir(), cut.mkdir()
    launch(TORCHRUN, [*worker, str(whole)], tmp_path)
    launch(TORCHRUN, [*worker, str(cut), "13"], tmp_path)  # 8 steps an epoch: rank 0 stops in epoch 2
    for r in (0, 1):  # rank 1 never asked, yet it stopped too (else the launch would hang)
        report = json.loads((cut / f"rank{r}.json").read_text())
        assert report["cancelled"] and "in epoch 2" in report["stopped_at"]
    cut_at = load_state(cut / "run" / "02-distill" / "checkpoint.safetensors")
    assert (cut_at["epoch"], cut_at["step"]) == (1, 3)  # saved at the step it stopped, inside epoch 2
    assert [r["sums"][0].item() for r in cut_at["ranks"]] == [48, 48]  # each rank's sums: 3 steps of 16 images
    assert not (cut / "run" / "02-distill" / "student.safetensors").exists()
    launch(TORCHRUN, [*worker, str(cut)], tmp_path)  # rerun: resumes from that step
    a = load_state(whole / "run" / "02-distill" / "checkpoint.safetensors")
    b = load_state(cut / "run" / "02-distill" / "checkpoint.safetensors")
    assert a["rows"][-1]["train_loss"] == b["rows"][-1]["train_loss"]
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    exported = [load_file(f / "run" / "02-distill" / "student.safetensors") for f in (whole, cut)]
    assert exported[0].keys() == exported[1].keys()
    assert all(torch.equal(exported[0][k], exported[1][k]) for k in exported[0])
    shutil.rmtree(whole), shutil.rmtree(cut)
