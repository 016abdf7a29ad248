"""The Fashion-MNIST results table: one student per method and baseline, under an equal
synthetic-image budget and equal epochs, each run from its config in configs/.

    python benchmarks/bench_fmnist_table.py [--budget 2000] [--epochs 20] [--only diffdfkd noise ...]

Runs go to runs/table-b<budget>-e<epochs>/<method>/ (<method>-<N>/ for a row given its own
budget N by --budget-for) and resume when rerun (an interrupted table picks up where it
stopped). Prints: method, student test accuracy, ratio to the teacher's, images used, wall
time (the run's stages), device.

--sources-from runs/table-b10000-e20 starts each row from the finished images of the same row
in another table (same budget and source settings, say other epochs): only the students train."""

import argparse
import copy
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dfkd_core.io import write_json
from dfkd_core.pipeline import read_config, run_pipeline, stages_of
from dfkd_core.sampling import runs_dir

NUM_CLASSES = 10
# (row label, config, how the budget applies): "synthetic" gives the run's source stage the
# budget; "fixed" keeps the config's own size (the few-real-images rows, repeated as HiDFD
# repeats them); "matched" repeats the real images further, by budget / count, so the student
# sees as many images per epoch as the HiDFD row does (its real images plus the budget).
METHODS = {
    "noise": ("KD on Gaussian noise", "fmnist-noise.yaml", "synthetic"),
    "unguided": ("KD on unguided prior samples", "fmnist-unguided.yaml", "synthetic"),
    "deepinversion": ("DeepInversion", "fmnist-deepinversion.yaml", "synthetic"),
    "diffdfkd": ("DiffDFKD (guided + Latent CutMix)", "fmnist-diffdfkd.yaml", "synthetic"),
    "diffdfkd-50steps": ("DiffDFKD, strength 0.05 over 50 steps", "fmnist-diffdfkd-50steps.yaml", "synthetic"),
    "diffdfkd-no-cutmix": ("DiffDFKD without Latent CutMix", "fmnist-diffdfkd-no-cutmix.yaml", "synthetic"),
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


def apply_budget(cfg: dict, budget: int, epochs: int, rule: str) -> dict:
    """The config with its source stage sized to `budget` images and its distill stage to `epochs`."""
    cfg = copy.deepcopy(cfg)
    stages = stages_of(cfg)
    names = [n for n, _ in stages]
    for st in cfg["stages"]:
        name, settings = next(iter(st.items()))
        if name == "distill":
            settings["epochs"] = epochs
            if rule == "matched":
                count = next(s["count"] for n, s in stages if n == "real")
                settings["real_repeat"] = settings.get("real_repeat", 1) + round(budget / count)
        elif rule == "synthetic" and name in ("generate", "unguided", "deepinversion"):
            variations = next((s.get("variations", 0) for n, s in stages if n == "augment"), 0)
            # with DDA, the budget counts sources and their variations
            settings["per_class"] = budget // (NUM_CLASSES * (1 + variations if "augment" in names else 1))
        elif rule == "synthetic" and name in ("noise", "real", "hidfd"):
            settings["count"] = budget
    return cfg


def copy_sources(src_run: Path, cfg: dict, run_dir: Path):
    """Copy src_run's finished stages before distill into run_dir, after checking they were made
    with cfg's settings; the paths their DONE.json hand on are moved to run_dir."""
    if run_dir.exists() or not (src_run / "config.yaml").exists():
        return
    made_with = read_config(src_run / "config.yaml")
    same = ("teacher", "seed")
    if [made_with.get(k) for k in same] != [cfg.get(k) for k in same] or made_with["stages"][:-1] != cfg["stages"][:-1]:
        raise SystemExit(f"{src_run} was made with other source settings than this table's row; "
                         "--sources-from needs a table of the same budget")
    for i in range(1, len(cfg["stages"])):
        stage = next(src_run.glob(f"{i:02d}-*"), None)
        if stage is None or not (stage / "DONE.json").exists():
            return  # unfinished there: this run makes the rest itself
        shutil.copytree(stage, run_dir / stage.name)
        done_path = run_dir / stage.name / "DONE.json"
        done = json.loads(done_path.read_text())
        for key in ("store", "real_store"):
            path = Path(done[key]).resolve() if done.get(key) else None
            if path and path.is_relative_to(src_run.resolve()):  # a store outside the run is shared as it is
                done[key] = str(run_dir / path.relative_to(src_run.resolve()))
        write_json(done_path, done)


def row(label: str, r: dict, device: str) -> tuple:
    wall = sum(v for k, v in r.items() if k.endswith("_seconds"))  # each stage's time in its last session
    return label, r.get("student_test_acc"), r.get("ratio_to_teacher"), r.get("train_images"), wall, device


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=int, default=1000, help="synthetic images per method")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--only", nargs="*", choices=list(METHODS), help="a subset of the rows")
    p.add_argument("--budget-for", nargs="*", default=[], metavar="METHOD=N",
                   help="a smaller budget for a slow row on a CPU (shown in the images column)")
    p.add_argument("--sources-from", type=Path, metavar="TABLE_DIR",
                   help="reuse the finished images of another table's rows (same budget, other epochs)")
    p.add_argument("--device", default="auto")
    p.add_argument("--report-only", action="store_true",
                   help="print the table from the finished runs' results.json (each run folder keeps its config)")
    args = p.parse_args()
    budgets = {k: int(v) for k, v in (item.split("=") for item in args.budget_for)}
    table_dir = runs_dir() / f"table-b{args.budget}-e{args.epochs}"
    rows, teacher_acc = [], None
    for key in args.only or list(METHODS):
        label, config_file, rule = METHODS[key]
        # a row under its own budget has its own folder, so it never collides with the full-budget run
        run_dir = table_dir / (f"{key}-{budgets[key]}" if key in budgets else key)
        if args.report_only:
            results = run_dir / "results.json"
            if results.exists():
                r = json.loads(results.read_text())
                rows.append(row(label, r, r.get("device", "not recorded")))
                teacher_acc = r.get("teacher_test_acc")
            continue
        cfg = apply_budget(read_config(ROOT / "configs" / config_file), budgets.get(key, args.budget), args.epochs,
                           rule)
        cfg["device"] = args.device
        if args.sources_from:
            copy_sources(args.sources_from / run_dir.name, cfg, run_dir)
        t0 = time.time()
        ctx = run_pipeline(cfg, run_dir, log=lambda msg, k=key: print(f"{k}: {msg}", flush=True),
                           command="python benchmarks/bench_fmnist_table.py " + " ".join(sys.argv[1:]))
        rows.append(row(label, ctx.results, ctx.results.get("device", "")))
        teacher_acc = ctx.results.get("teacher_test_acc")
        print(f"{key}: {json.dumps(ctx.results)} ({time.time() - t0:.0f} s this session)", flush=True)
    print(f"\nTeacher test accuracy: {100 * teacher_acc:.2f}%. Budget {args.budget} synthetic images, "
          f"{args.epochs} epochs, student WRN-16-1.\n")
    print("| method | student test acc | ratio to teacher | images used | wall time | device |")
    print("|---|---|---|---|---|---|")
    for label, acc, ratio, images, wall, dev in rows:
        print(f"| {label} | {100 * acc:.2f}% | {100 * ratio:.1f}% | {images} | {wall / 60:.1f} min | {dev} |")


if __name__ == "__main__":
    main()
