"""Helpers of bench_fmnist_table.py: student seeds on the same images, equal compute for
image making, and mean ± std over seeds.

Seeds: seed 0 is a row's run folder; seed k > 0 is <row>-seed<k>/, which starts from copies of
seed 0's finished source stages (never regenerating them) and distils with distill seed k.

Equal compute: every synthetic-data row may spend on its images the seconds the DiffDFKD row's
source stages took, counted on one clock (CLOCKS): CPU seconds of the process by default, which
do not grow when other jobs share the machine, or wall seconds. A source with a compute knob (COMPUTE_KNOBS) gets the knob value those
seconds buy: calibration times its real stage on one batch (past a warmup) at two knob values,
fits seconds per batch = fixed + knob * per_unit, and sets knob = (budget / batches - fixed) /
per_unit. The number goes into the row's config (its config.yaml records it) and into
calibration.json, so a rerun resumes with the same number: the images never depend on a clock."""

import copy
import json
import math
import shutil
import statistics
from pathlib import Path

from dfkd_core.io import write_json
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.pipeline.config import read_config

# source stage -> (its compute knob, the setting that is its batch of images)
COMPUTE_KNOBS = {"deepinversion": ("iterations", "batch_size"), "fast_dfkd": ("g_steps", "synthesis_batch_size"),
                 "cmi": ("g_steps", "synthesis_batch_size")}
CALIBRATION_KNOB_VALUES = (2, 12)
# clock -> the suffix of the stage results that count its seconds (pipeline.run_pipeline)
CLOCKS = {"cpu": "_cpu_seconds", "wall": "_seconds"}


def image_seconds(results: dict, clock: str = "wall") -> float:
    """Seconds on `clock` a run's stages before distill took, from its results."""
    def on_clock(key: str) -> bool:
        return key.endswith("_seconds") and key.endswith(CLOCKS["cpu"]) == (clock == "cpu")
    return sum(v for k, v in results.items() if on_clock(k) and not k.startswith("distill_"))


# ---- mean ± std over seeds ----

def mean_std(values) -> tuple[float, float | None]:
    """The mean and the sample standard deviation (n - 1); None for one value."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def format_mean_std(values, scale: float = 100, digits: int = 2, unit: str = "%") -> str:
    """'91.57 ± 0.23%' over several values, '91.57%' for one."""
    mean, std = mean_std(values)
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}{unit}" if std is not None \
        else f"{scale * mean:.{digits}f}{unit}"


def seeds_label(n: int) -> str:
    return "1 (single seed)" if n == 1 else str(n)


# ---- seeds: same images, own student ----

def seed_run_dir(run_dir: Path, seed: int) -> Path:
    return run_dir if seed == 0 else run_dir.with_name(f"{run_dir.name}-seed{seed}")


def with_student_seed(cfg: dict, seed: int) -> dict:
    """cfg with its distill stage's seed set to `seed` (seed 0 keeps the config as it is)."""
    cfg = copy.deepcopy(cfg)
    if seed:
        for st in cfg["stages"]:
            if "distill" in st:
                st["distill"] = {**(st["distill"] or {}), "seed": seed}
    return cfg


def copy_sources(src_run: Path, cfg: dict, run_dir: Path, required: bool = False):
    """Copy src_run's finished stages before distill into run_dir, after checking they were made
    with cfg's settings; the paths their DONE.json hand on are moved to run_dir. required: every
    source stage must be finished there (a seed folder must never make its own images)."""
    if run_dir.exists():
        return
    if not (src_run / "config.yaml").exists():
        if required:
            raise SystemExit(f"{src_run} has no finished run to take the images from")
        return
    made_with = read_config(src_run / "config.yaml")
    same = ("teacher", "seed")
    if [made_with.get(k) for k in same] != [cfg.get(k) for k in same] or made_with["stages"][:-1] != cfg["stages"][:-1]:
        raise SystemExit(f"{src_run} was made with other source settings than this row: its images cannot be reused "
                         "(--sources-from needs a table of the same budget)")
    stages = []
    for i in range(1, len(cfg["stages"])):
        stage = next(src_run.glob(f"{i:02d}-*"), None)
        if stage is None or not (stage / "DONE.json").exists():
            if required:
                raise SystemExit(f"{src_run}: source stage {i} is not finished; run seed 0 first")
            break  # unfinished there: this run makes the rest itself
        stages.append(stage)
    for stage in stages:
        shutil.copytree(stage, run_dir / stage.name)
        done_path = run_dir / stage.name / "DONE.json"
        done = json.loads(done_path.read_text())
        for key in ("store", "real_store"):  # a relative path is relative to the run folder: right as it is
            path = Path(done[key]) if done.get(key) else None
            if path and path.is_absolute() and path.resolve().is_relative_to(src_run.resolve()):
                done[key] = str(run_dir / path.resolve().relative_to(src_run.resolve()))  # (a store outside
                # the run is shared as it is)
        write_json(done_path, done)


# ---- equal compute ----

def source_seconds(run_dir: Path, clock: str = "cpu") -> float | None:
    """Seconds on `clock` the run's stages before distill took (their DONE.json), None until all
    finished."""
    cfg = read_config(run_dir / "config.yaml") if (run_dir / "config.yaml").exists() else None
    if cfg is None:
        return None
    total = 0.0
    for i, st in enumerate(cfg["stages"][:-1], 1):
        name = next(iter(st))
        done = run_dir / f"{i:02d}-{name}" / "DONE.json"
        if not done.exists():
            return None
        results, key = json.loads(done.read_text())["results"], f"{name}{CLOCKS[clock]}"
        if key not in results:
            raise SystemExit(f"{done} has no {clock} seconds (its stage ran before they were recorded): "
                             "use --clock wall, or remake that row's images")
        total += results[key]
    return total


def linear_cost(k1: int, t1: float, k2: int, t2: float) -> tuple[float, float]:
    """(fixed seconds, seconds per knob unit) of one batch from two timed knob values."""
    per_unit = (t2 - t1) / (k2 - k1)
    return t1 - k1 * per_unit, per_unit


def knob_for_budget(budget_s: float, batches: int, fixed_s: float, per_unit_s: float) -> int:
    """The largest knob value whose `batches` batches fit in budget_s (at least 1)."""
    if per_unit_s <= 0:
        raise SystemExit(f"calibration measured {per_unit_s:.4f} s per unit: the machine was too busy to time it; "
                         "rerun the table")
    return max(1, math.floor((budget_s / batches - fixed_s) / per_unit_s + 1e-9))  # 95.99999 is 96


def source_stage(cfg: dict) -> tuple[str, dict]:
    name, settings = next(iter(cfg["stages"][0].items()))
    return name, settings


def batches_of(settings: dict, batch_key: str, num_classes: int) -> int:
    images = settings.get("per_class", 100) * num_classes
    return math.ceil(images / settings.get(batch_key, 100))


def calibrate(cfg: dict, work_dir: Path, teacher, num_classes: int, clock: str = "cpu", log=print) -> dict:
    """Times cfg's source stage (its stage seconds on `clock`, as DONE.json records them) on one batch (past
    its warmup) at CALIBRATION_KNOB_VALUES, in fresh folders under work_dir; returns {knob, fixed_s,
    per_unit_s, timings}."""
    name, settings = source_stage(cfg)
    knob, batch_key = COMPUTE_KNOBS[name]
    batch = settings.get(batch_key, 100)
    # a source that warms up (Fast-DFKD: episodes without its adversarial loss) is timed past it
    probe_batches = 1 + int(settings.get("warmup", 0))
    timings = {}
    # the first probe warms up (imports, first-call allocations) and is not used
    for k in (CALIBRATION_KNOB_VALUES[0], *CALIBRATION_KNOB_VALUES):
        probe = {**copy.deepcopy(cfg), "stages": [{name: {**settings, knob: k,
                                                          "per_class": math.ceil(probe_batches * batch / num_classes)}}]}
        folder = work_dir / f"{knob}-{k}"
        shutil.rmtree(folder, ignore_errors=True)
        ctx = run_pipeline(probe, folder, teacher=teacher, log=lambda m: None)
        timings[k] = ctx.results[f"{name}{CLOCKS[clock]}"] / probe_batches  # the stage alone, as the budget counts it
        log(f"calibration: {name} {knob}={k}: {timings[k]:.2f} s per batch of {batch} ({probe_batches} timed)")
    (k1, t1), (k2, t2) = timings.items()
    fixed, per_unit = linear_cost(k1, t1, k2, t2)
    return {"knob": knob, "fixed_s": fixed, "per_unit_s": per_unit, "timings": timings}


def equal_compute(cfg: dict, budget_s: float, table_dir: Path, row: str, teacher, num_classes: int,
                  clock: str = "cpu", log=print) -> tuple[dict, dict | None]:
    """cfg with its compute knob set to what budget_s seconds on `clock` buy (calibrated once per
    row, budget and clock, kept in table_dir/calibration.json), and that calibration; cfg
    unchanged without a knob."""
    name, settings = source_stage(cfg)
    if name not in COMPUTE_KNOBS:
        return cfg, None
    path = table_dir / "calibration.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    cal = saved.get(row)
    if cal is None or cal["budget_s"] != budget_s or cal.get("clock", "wall") != clock:  # (older: wall)
        cal = {**calibrate(cfg, table_dir / "calibration" / row, teacher, num_classes, clock, log),
               "budget_s": budget_s, "clock": clock}
        knob, batch_key = COMPUTE_KNOBS[name]
        cal["batches"] = batches_of(settings, batch_key, num_classes)
        cal["value"] = knob_for_budget(budget_s, cal["batches"], cal["fixed_s"], cal["per_unit_s"])
        write_json(path, {**saved, row: cal})
    cfg = copy.deepcopy(cfg)
    cfg["stages"][0][name] = {**settings, cal["knob"]: cal["value"]}
    return cfg, cal
