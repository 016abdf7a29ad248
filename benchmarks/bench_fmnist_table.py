"""The Fashion-MNIST results table: one student per method and baseline, under an equal
synthetic-image budget and equal epochs, each run from its config in configs/.

    python benchmarks/bench_fmnist_table.py [--budget 2000] [--epochs 20] [--only diffdfkd noise ...]
        [--seeds 3] [--equal-compute [--clock cpu|wall]] [--precision bf16] [--mixup 1]

Runs go to runs/table-b<budget>-e<epochs>[-eq|-eqcpu][-bf16][-mixA]/<method>/ (<method>-<N>/ for a row given its own
budget N by --budget-for) and resume when rerun (an interrupted table picks up where it
stopped). Prints: method, student test accuracy and ratio to the teacher's (mean ± sample std
over seeds), seeds, images used, image-making time, student time, device.

--seeds N: students 1..N-1 of a row train in <method>-seed<k>/ on copies of seed 0's images
(never regenerated), with distill seed k; --student-seeds K ... trains only those (another
process may train the others at the same time). --equal-compute: every synthetic-data row may spend
the DiffDFKD row's image-making seconds; DeepInversion (Fast-DFKD, CMI) get the iterations
(generator steps) that buys, calibrated once on this machine (table_runs.py). --clock cpu (folder table-...-eqcpu, the
default) counts the process's CPU seconds, which other jobs on the machine do not inflate;
--clock wall (folder table-...-eq) counts wall seconds.

--precision bf16: the students train under bfloat16 autocast (`distill`'s `precision`; about 2x
faster on a CPU with bfloat16 units); the images are made as configured. --mixup A: the students
mix each batch's images (weight ~ Beta(A, A)) and learn the teacher's labels of the mixes.

--sources-from runs/table-b10000-e20 starts each row from the finished images of the same row
in another table (same budget and source settings, say other epochs): only the students train."""

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from table_runs import (  # noqa: E402
    copy_sources,
    equal_compute,
    format_mean_std,
    image_seconds,
    seed_run_dir,
    seeds_label,
    source_seconds,
    with_student_seed,
)

from dfkd_core.paths import runs_dir  # noqa: E402
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.pipeline.config import read_config, stages_of
from dfkd_core.teacher.spec import resolve_teacher

NUM_CLASSES = 10
# (row label, config, how the budget applies): "synthetic" gives the run's source stage the
# budget; "fixed" keeps the config's own size (the few-real-images rows, repeated as HiDFD
# repeats them); "matched" repeats the real images further, by budget / count, so the student
# sees as many images per epoch as the HiDFD row does (its real images plus the budget).
METHODS = {
    "noise": ("KD on Gaussian noise", "fmnist-noise.yaml", "synthetic"),
    "unguided": ("KD on unguided prior samples", "fmnist-unguided.yaml", "synthetic"),
    "deepinversion": ("DeepInversion", "fmnist-deepinversion.yaml", "synthetic"),
    "fast-dfkd": ("Fast-DFKD (meta-learned generator)", "fmnist-fast-dfkd.yaml", "synthetic"),
    "cmi": ("CMI (contrastive model inversion)", "fmnist-cmi.yaml", "synthetic"),
    "diffdfkd": ("DiffDFKD (guided + Latent CutMix)", "fmnist-diffdfkd.yaml", "synthetic"),
    "diffdfkd-50steps": ("DiffDFKD over 50 steps", "fmnist-diffdfkd-50steps.yaml", "synthetic"),
    "diffdfkd-no-cutmix": ("DiffDFKD without Latent CutMix", "fmnist-diffdfkd-no-cutmix.yaml", "synthetic"),
    "diffdfkd-adv": ("DiffDFKD + adversarial online student", "fmnist-diffdfkd-adv.yaml", "synthetic"),
    "diffdfkd-confidence": ("DiffDFKD guided to 80 % confidence", "fmnist-diffdfkd-confidence.yaml", "synthetic"),
    "dda": ("DiffDFKD + DDA + filtering", "fmnist-dda.yaml", "synthetic"),
    "hidfd-1pct": ("HiDFD, 1% real (600)", "fmnist-hidfd-1pct.yaml", "synthetic"),
    "hidfd-0.1pct": ("HiDFD, 0.1% real (60)", "fmnist-hidfd-0.1pct.yaml", "synthetic"),
    "kd-real-600": ("KD on the 600 real images alone", "fmnist-kd-real-600.yaml", "fixed"),
    "kd-real-60": ("KD on the 60 real images alone", "fmnist-kd-real-60.yaml", "fixed"),
    "kd-real-600-matched": ("KD on the 600 real images alone, as many images as HiDFD", "fmnist-kd-real-600.yaml",
                            "matched"),
    "kd-real-60-matched": ("KD on the 60 real images alone, as many images as HiDFD", "fmnist-kd-real-60.yaml",
                           "matched"),
    "kd-real": ("KD on real training images (upper reference)", "fmnist-kd-real.yaml", "synthetic"),
}


def apply_budget(cfg: dict, budget: int, epochs: int, rule: str, precision: str = "fp32", mixup: float = 0) -> dict:
    """The config with its source stage sized to `budget` images and its distill stage to `epochs`
    (and to `precision` and `mixup` when they are not the defaults)."""
    cfg = copy.deepcopy(cfg)
    stages = stages_of(cfg)
    names = [n for n, _ in stages]
    for st in cfg["stages"]:
        name, settings = next(iter(st.items()))
        if name == "distill":
            settings["epochs"] = epochs
            if precision != "fp32":
                settings["precision"] = precision
            if mixup:
                settings["mixup"] = mixup
            if rule == "matched":
                count = next(s["count"] for n, s in stages if n == "real")
                settings["real_repeat"] = settings.get("real_repeat", 1) + round(budget / count)
        elif rule == "synthetic" and name in ("generate", "unguided", "deepinversion", "fast_dfkd", "cmi"):
            variations = next((s.get("variations", 0) for n, s in stages if n == "augment"), 0)
            # with DDA, the budget counts sources and their variations
            settings["per_class"] = budget // (NUM_CLASSES * (1 + variations if "augment" in names else 1))
        elif rule == "synthetic" and name in ("noise", "real", "hidfd"):
            settings["count"] = budget
    return cfg


def row_figures(results: list[dict]) -> dict:
    """A row's figures over its seeds' results.json (seed 0 first)."""
    first = results[0]
    return {"accs": [r["student_test_acc"] for r in results], "ratios": [r["ratio_to_teacher"] for r in results],
            "images": first.get("train_images"), "device": first.get("device", "not recorded"),
            "source_s": image_seconds(first), "source_cpu_s": image_seconds(first, "cpu"),
            "student_s": statistics.fmean(r.get("distill_seconds", 0) for r in results)}


def print_table(rows: list[tuple[str, dict]], teacher_acc: float, args, budget_s=None, calibrations=None):
    clock = args.clock if budget_s is not None else "wall"
    mixup = getattr(args, "mixup", 0)  # tables printed from older namespaces have none
    mixing = f" with mixup ~ Beta({mixup:g}, {mixup:g})" if mixup else ""
    print(f"\nTeacher test accuracy: {100 * teacher_acc:.2f}%. Budget {args.budget} synthetic images, "
          f"{args.epochs} epochs, student WRN-16-1{mixing}; up to {args.seeds} student seed(s) per row on the "
          "same images (mean ± sample std over seeds).")
    if budget_s is not None:
        print(f"Equal compute: each synthetic-data row may spend {budget_s:.0f} {clock} seconds making its images "
              "(the DiffDFKD row's source stages on this machine). Rows without a compute knob (noise, unguided, real, ...) make "
              "their images as configured: their seconds are in the image-making column.")
        for key, cal in (calibrations or {}).items():
            print(f"  {key}: {cal['knob']} = {cal['value']} (calibrated per batch: {cal['fixed_s']:.2f} s + "
                  f"{cal['per_unit_s']:.3f} s per {cal['knob'][:-1] if cal['knob'].endswith('s') else cal['knob']}"
                  f", x {cal['batches']} batches)")
    print(f"\n| method | student test acc | ratio to teacher | seeds | images used | image making ({clock}) | "
          "student (mean) | device |")
    print("|---|---|---|---|---|---|---|---|")
    for label, f in rows:
        print(f"| {label} | {format_mean_std(f['accs'])} | {format_mean_std(f['ratios'], digits=1)} | "
              f"{seeds_label(len(f['accs']))} | {f['images']} | {f['source_cpu_s' if clock == 'cpu' else 'source_s'] / 60:.1f} min | "
              f"{f['student_s'] / 60:.1f} min | {f['device']} |")


def finished_seeds(run_dir: Path, seeds: int) -> list[dict]:
    paths = [seed_run_dir(run_dir, k) / "results.json" for k in range(seeds)]
    return [json.loads(p.read_text()) for p in paths if p.exists()]


def run_row(key: str, cfg: dict, run_dir: Path, args) -> list[dict]:
    """Seed 0 in run_dir (its images from --sources-from when given), then seeds 1.. on copies
    of seed 0's images; returns each seed's results."""
    if args.sources_from:
        copy_sources(args.sources_from / run_dir.name, cfg, run_dir)
    results = []
    for seed in getattr(args, "student_seeds", None) or range(args.seeds):
        seed_cfg, seed_dir = with_student_seed(cfg, seed), seed_run_dir(run_dir, seed)
        if seed:
            copy_sources(run_dir, seed_cfg, seed_dir, required=True)
        t0 = time.time()
        ctx = run_pipeline(seed_cfg, seed_dir, log=lambda msg, k=f"{key} seed {seed}": print(f"{k}: {msg}", flush=True),
                           command="python benchmarks/bench_fmnist_table.py " + " ".join(sys.argv[1:]))
        print(f"{key} seed {seed}: {json.dumps(ctx.results)} ({time.time() - t0:.0f} s this session)", flush=True)
        results.append(ctx.results)
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=int, default=1000, help="synthetic images per method")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--only", nargs="*", choices=list(METHODS), help="a subset of the rows")
    p.add_argument("--budget-for", nargs="*", default=[], metavar="METHOD=N",
                   help="a smaller budget for a slow row on a CPU (shown in the images column)")
    p.add_argument("--sources-from", type=Path, metavar="TABLE_DIR",
                   help="reuse the finished images of another table's rows (same budget, other epochs)")
    p.add_argument("--seeds", type=int, default=1, help="student seeds per row, all on the row's same images")
    p.add_argument("--student-seeds", type=int, nargs="+", metavar="K",
                   help="train only these of the --seeds students (k > 0 needs seed 0's finished images), so "
                        "separate processes can train a row's students side by side")
    p.add_argument("--equal-compute", action="store_true",
                   help="give every synthetic-data row the DiffDFKD row's image-making seconds")
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                   help="the seconds --equal-compute counts: the process's CPU seconds (table-...-eqcpu/; load "
                        "from other jobs does not change them) or wall seconds (table-...-eq/)")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="the students' forward passes (bf16: bfloat16 autocast); folder suffix -bf16")
    p.add_argument("--mixup", type=float, default=0, metavar="A",
                   help="the students' recipe: mixup of batch images with weight ~ Beta(A, A) (0: off); folder "
                        "suffix -mixA")
    p.add_argument("--report-only", action="store_true",
                   help="print the table from the finished runs' results.json (each run folder keeps its config)")
    args = p.parse_args()
    if args.student_seeds and not all(0 <= k < args.seeds for k in args.student_seeds):
        p.error(f"--student-seeds: each must be from 0 to --seeds - 1 = {args.seeds - 1}")
    budgets = {k: int(v) for k, v in (item.split("=") for item in args.budget_for)}
    suffix = ("-eqcpu" if args.clock == "cpu" else "-eq") if args.equal_compute else ""
    suffix += "-bf16" if args.precision == "bf16" else ""
    suffix += f"-mix{args.mixup:g}" if args.mixup else ""
    table_dir = runs_dir() / f"table-b{args.budget}-e{args.epochs}{suffix}"
    keys = args.only or list(METHODS)
    if args.equal_compute:  # the DiffDFKD row sets the budget: it runs first
        keys = sorted(keys, key=lambda k: k != "diffdfkd")
    rows, teacher_acc, budget_s, calibrations, teacher = [], None, None, {}, None
    for key in keys:
        label, config_file, rule = METHODS[key]
        # a row under its own budget has its own folder, so it never collides with the full-budget run
        run_dir = table_dir / (f"{key}-{budgets[key]}" if key in budgets else key)
        if args.report_only:
            results = finished_seeds(run_dir, args.seeds)
        else:
            cfg = apply_budget(read_config(ROOT / "configs" / config_file), budgets.get(key, args.budget),
                               args.epochs, rule, args.precision, args.mixup)
            cfg["device"] = args.device
            if args.equal_compute and key != "diffdfkd":
                if budget_s is None:
                    budget_s = source_seconds(table_dir / "diffdfkd", args.clock)
                if budget_s is None:
                    raise SystemExit(f"--equal-compute: {table_dir / 'diffdfkd'} has no finished images to take the "
                                     "budget from; include diffdfkd in --only")
                teacher = teacher or resolve_teacher(cfg.get("teacher", "demo"))
                cfg, cal = equal_compute(cfg, budget_s, table_dir, key, teacher, NUM_CLASSES, args.clock)
                if cal:
                    calibrations[key] = cal
            results = run_row(key, cfg, run_dir, args)
        if results:
            rows.append((label, row_figures(results)))
            teacher_acc = results[0].get("teacher_test_acc")
    if args.equal_compute and args.report_only:
        budget_s = source_seconds(table_dir / "diffdfkd", args.clock)
        path = table_dir / "calibration.json"
        calibrations = json.loads(path.read_text()) if path.exists() else {}
    elif args.equal_compute and budget_s is None:
        budget_s = source_seconds(table_dir / "diffdfkd", args.clock)
    print_table(rows, teacher_acc, args, budget_s, calibrations)


if __name__ == "__main__":
    main()
