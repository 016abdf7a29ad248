"""Throughput with 1 and 2 CPU processes (one thread each), in one run: generation on the
demo kit (demo prior + demo teacher) through `torchrun -m dfkd_core.cli generate`, the
way users launch it. Target: the 2-process / 1-process images/s ratio >= 1.6 on a 2-core CPU.

    python benchmarks/bench_scale.py [--images 64] [--batch 8] [--steps 25] [--repeats 1]

Each launch pays a start-up (imports, loading the models) that has nothing to do with
throughput, so each process count runs twice, a small job (one batch per process) and the
full one, and images/s = (full - small images) / (full - small seconds). Both jobs plan the
same batches and every run writes a fresh store in a temporary folder. The machine's load
(uptime) is printed before and after: other work on a shared machine lowers the ratio.

Distillation: `dfkd distill` of a student (--student, default wrn_16_1) from the demo teacher
on a store of --distill-images noise images, the same global batch (--distill-batch) with 1
process and with 2 (torchrun, DDP, each rank half of every batch). Its images/s is the
store's size over rank 0's fastest epoch (metrics.csv's epoch_seconds: no start-up in them).

One function per half: generation(args), distillation(args); --only runs one of them."""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLASSES = [0, 1, 2, 3]


def launch(processes: int, per_class: int, args, out: Path) -> float:
    """Seconds for one `dfkd generate` of len(CLASSES) * per_class images with `processes` ranks."""
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--nproc_per_node", str(processes),
                                          "--master_port", str(29600 + processes)]
    cmd = [sys.executable, *launcher, "-m", "dfkd_core.cli", "generate", "--teacher", "demo", "--backbone", "demo",
           "--classes", *map(str, CLASSES), "--per-class", str(per_class), "--batch-size", str(args.batch),
           "--steps", str(args.steps), "--device", "cpu", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return seconds


def generation(args) -> dict:
    """images/s of generation with 1 and 2 processes (median of --repeats, the process counts
    alternating so that a change of the machine's load hits both), and their ratio."""
    full = args.images // len(CLASSES)
    rates = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for repeat in range(args.repeats):
            for processes in (1, 2):
                small = processes * args.batch // len(CLASSES)  # one batch per process
                t_small = launch(processes, small, args, Path(tmp) / f"small-{processes}-{repeat}")
                t_full = launch(processes, full, args, Path(tmp) / f"full-{processes}-{repeat}")
                rates[processes].append(len(CLASSES) * (full - small) / (t_full - t_small))
                print(f"generation, {processes} process(es): {len(CLASSES) * full} images in {t_full:.1f} s, "
                      f"{len(CLASSES) * small} in {t_small:.1f} s -> {rates[processes][-1]:.3f} images/s")
    return summary("generation", rates, " (target >= 1.6)")


def distill_epochs(processes: int, args, samples: Path, out: Path) -> list[float]:
    """Rank 0's epoch seconds of one `dfkd distill` with `processes` ranks."""
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--nproc_per_node", str(processes),
                                          "--master_port", str(29700 + processes)]
    cmd = [sys.executable, *launcher, "-m", "dfkd_core.cli", "distill", "--samples", str(samples), "--teacher", "demo",
           "--student", args.student, "--epochs", str(args.epochs), "--batch-size", str(args.distill_batch),
           "--no-onnx", "--device", "cpu", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    with open(out / "02-distill" / "metrics.csv") as f:
        return [float(row["epoch_seconds"]) for row in csv.DictReader(f)]


def distillation(args) -> dict:
    """Training images/s of distillation with 1 and 2 processes (median of --repeats, the
    process counts alternating), and their ratio."""
    sys.path.insert(0, str(ROOT))
    from dfkd_core.pipeline.run import run_pipeline
    rates = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        store = Path(tmp) / "noise"
        run_pipeline({"teacher": "demo", "device": "cpu", "stages": [{"noise": {"count": args.distill_images}}]},
                     store, log=lambda m: None)
        for repeat in range(args.repeats):
            for processes in (1, 2):
                epochs = distill_epochs(processes, args, store / "01-noise", Path(tmp) / f"distill-{processes}-{repeat}")
                rates[processes].append(args.distill_images / min(epochs))
                print(f"distillation, {processes} process(es): epochs of {args.distill_images} images in "
                      f"{', '.join(f'{s:.1f}' for s in epochs)} s -> {rates[processes][-1]:.1f} images/s")
    return summary("distillation", rates)


def summary(name: str, rates: dict, target: str = "") -> dict:
    """Median images/s with 1 and 2 processes, printed with their ratio."""
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"{name}: {one:.3f} images/s with 1 process, {two:.3f} with 2; 2-process / 1-process throughput = "
          f"{two / one:.2f}{target}")
    return {"images_per_s_1": one, "images_per_s_2": two, "ratio": two / one}


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=64, help="images of the full job (a multiple of 4 * batch)")
    p.add_argument("--batch", type=int, default=8, help="batch size (a multiple of 4)")
    p.add_argument("--steps", type=int, default=25, help="sampling steps")
    p.add_argument("--repeats", type=int, default=1, help="measurements per process count (median)")
    p.add_argument("--distill-images", type=int, default=1024, help="images in the distillation store")
    p.add_argument("--distill-batch", type=int, default=64, help="global batch of distillation (even)")
    p.add_argument("--student", default="wrn_16_1")
    p.add_argument("--epochs", type=int, default=2, help="distillation epochs (the fastest one counts)")
    p.add_argument("--only", choices=["generation", "distillation"], help="run one half")
    args = p.parse_args()
    if args.batch % len(CLASSES) or args.images % (len(CLASSES) * args.batch) or args.images < 4 * args.batch:
        sys.exit("--batch must be a multiple of 4 and --images a multiple of 4 * batch, at least 4 batches")
    print(f"cpu cores: {os.cpu_count()}; load before: {load()}")
    if args.only != "distillation":
        generation(args)
    if args.only != "generation":
        distillation(args)
    print(f"load after: {load()}")


if __name__ == "__main__":
    main()
