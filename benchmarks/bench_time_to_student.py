"""Time-to-student: wall time on this CPU from nothing (the teacher and the diffusion prior on
disk, no images) to a student at >= 0.90 and >= 0.97 of the teacher's test accuracy.

    python benchmarks/bench_time_to_student.py [--methods diffdfkd unguided] [--images 2000]
        [--epochs 20] [--threads 2] [--max-minutes 30]

Each method is a row of the results table (its config in configs/, sized by apply_budget to
--images and --epochs) run in runs/time-to-student-b<images>/<method>/, which is emptied first
(from nothing). The student is evaluated on the FULL 10,000-image test set at every epoch end
(the config's eval_subset is dropped), and the clock (teacher load + image making + training +
those evaluations) is read then; the first epoch whose accuracy reaches a ratio of the
teacher's sets that ratio's time. A method stops once every ratio is reached, or at
--max-minutes (its images or its student unfinished: "not reached in N min").

The finished source stage can seed a results table of the same budget:
bench_fmnist_table.py --budget <images> --sources-from runs/time-to-student-b<images>."""

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fmnist_table import METHODS, ROOT, apply_budget  # noqa: E402
from table_runs import image_seconds  # noqa: E402

from dfkd_core.data import load_dataset  # noqa: E402
from dfkd_core.data.datasets import align_classes  # noqa: E402
from dfkd_core.distill.stage import teacher_accuracy  # noqa: E402
from dfkd_core.paths import runs_dir  # noqa: E402
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.pipeline.config import read_config
from dfkd_core.teacher.spec import resolve_teacher


def first_crossings(evals: list[tuple[float, int, float]], teacher_acc: float, ratios) -> dict:
    """evals: (elapsed seconds, epoch, test accuracy) in order. For each ratio, the first
    (elapsed, epoch, accuracy) at which accuracy >= ratio * teacher_acc, or None."""
    return {r: next((e for e in evals if e[2] >= r * teacher_acc), None) for r in ratios}


def timed_config(method: str, images: int, epochs: int, precision: str = "fp32") -> dict:
    """The table row's config at this budget, evaluated on the full test set every epoch; with
    precision bf16 its diffusion sampling and its distillation run under bf16 autocast."""
    _, config_file, rule = METHODS[method]
    cfg = apply_budget(read_config(ROOT / "configs" / config_file), images, epochs, rule)
    for st in cfg["stages"]:
        name, settings = next(iter(st.items()))
        if name in ("generate", "unguided", "distill") and precision != "fp32":
            settings["precision"] = precision
        if name == "distill":
            settings.pop("eval_subset", None)
            settings["onnx"] = False
    return cfg


def time_method(method: str, cfg: dict, run_dir: Path, teacher_acc: float, ratios, max_seconds: float) -> dict:
    """Runs cfg from nothing in run_dir; returns {evals, crossings, stopped_by, elapsed}."""
    shutil.rmtree(run_dir, ignore_errors=True)
    evals, t0 = [], time.time()

    def on_metrics(stage, row):
        if stage == "distill" and "test_acc" in row:
            evals.append((time.time() - t0, row["epoch"], row["test_acc"]))
            print(f"{method}: epoch {row['epoch']} full-test acc {100 * row['test_acc']:.2f}% "
                  f"({row['test_acc'] / teacher_acc:.3f} of the teacher) at {evals[-1][0] / 60:.1f} min", flush=True)

    def should_stop():
        done = all(c is not None for c in first_crossings(evals, teacher_acc, ratios).values())
        return done or time.time() - t0 > max_seconds

    ctx = run_pipeline(cfg, run_dir, log=lambda msg: print(f"{method}: {msg}", flush=True),
                       should_stop=should_stop, on_metrics=on_metrics,
                       command="python benchmarks/bench_time_to_student.py " + " ".join(sys.argv[1:]))
    elapsed = time.time() - t0
    crossings = first_crossings(evals, teacher_acc, ratios)
    if not ctx.cancelled:
        stopped_by = "its last epoch"
    elif all(c is not None for c in crossings.values()):
        stopped_by = "every ratio reached"
    else:
        stopped_by = f"the {max_seconds / 60:g}-min cap ({ctx.stopped_at or 'stopped'})"
    return {"evals": evals, "crossings": crossings, "stopped_by": stopped_by, "elapsed": elapsed,
            "source_seconds": image_seconds(ctx.results)}


def describe(method: str, result: dict, ratios, max_minutes: float) -> list[str]:
    lines = [f"{method}: stopped by {result['stopped_by']} after {result['elapsed'] / 60:.1f} min; "
             f"images made in {result['source_seconds'] / 60:.1f} min"]
    for r in ratios:
        hit = result["crossings"][r]
        lines.append(f"  >= {r:.2f} of the teacher: " + (
            f"{hit[0] / 60:.1f} min (epoch {hit[1]}, full-test acc {100 * hit[2]:.2f}%)" if hit
            else f"not reached in {min(max_minutes, result['elapsed'] / 60):.3g} min" + (
                f" (best {100 * max(e[2] for e in result['evals']):.2f}%)" if result["evals"] else "")))
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", default=["diffdfkd", "unguided"], choices=list(METHODS))
    p.add_argument("--images", type=int, default=2000, help="images to make (fewer than the table's 10,000)")
    p.add_argument("--epochs", type=int, default=20, help="the student's one-cycle schedule length")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (the machine has 2 cores)")
    p.add_argument("--ratios", nargs="+", type=float, default=[0.90, 0.97])
    p.add_argument("--max-minutes", type=float, default=30, help="per method, from nothing")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: diffusion sampling and distillation under bfloat16 autocast (dfkd_core/precision.py; "
                        "other sources stay fp32); runs go to time-to-student-b<images>-bf16/")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    teacher = resolve_teacher("demo")  # only for the threshold; each timed run loads its own
    test_set = align_classes(load_dataset("fashion-mnist", "test"), teacher.class_names)
    teacher_acc = teacher_accuracy(teacher, test_set, "cpu")
    print(f"Teacher full-test accuracy {100 * teacher_acc:.2f}%; {args.images} images, {args.epochs} epochs, "
          f"{torch.get_num_threads()} threads, {args.precision}; the student is evaluated on all {len(test_set)} test images "
          "at every epoch end, and that evaluation counts in the time.", flush=True)
    report = []
    for method in args.methods:
        cfg = timed_config(method, args.images, args.epochs, args.precision)
        suffix = "" if args.precision == "fp32" else f"-{args.precision}"
        run_dir = runs_dir() / f"time-to-student-b{args.images}{suffix}" / method
        result = time_method(method, cfg, run_dir, teacher_acc, args.ratios, 60 * args.max_minutes)
        report += describe(method, result, args.ratios, args.max_minutes)
    print("\n" + "\n".join(report))


if __name__ == "__main__":
    main()
