"""What the Distill tab asks of the engine: the sample sets and runs on disk, a distillation
run on a sample set as a streaming job, and a table comparing past runs."""

import json
from pathlib import Path

import pandas as pd

from dfkd_core.distill.config import DistillSettings
from dfkd_core.errors import Cancelled, DfkdError
from dfkd_core.paths import checked_name, runs_dir
from dfkd_core.settings import from_mapping
from dfkd_core.store import SampleStore

from .folder import CANCELLED
from .run import run_pipeline


def sample_sets() -> dict[str, str]:
    """Label -> folder: the app's sample sets, and the sample stores inside runs."""
    root = runs_dir()
    found = {p.name: str(p) for p in sorted((root / "sample-sets").glob("*")) if SampleStore(p).exists()}
    for stage in sorted(root.glob("*/*")):
        if stage.parent.name != "sample-sets" and SampleStore(stage).exists():
            found[f"{stage.parent.name}/{stage.name}"] = str(stage)
    return found


def newest_sample_set(sets: dict[str, str]) -> str | None:
    """The label (of sample_sets()) whose samples were written last, or None."""
    return max(sets, key=lambda label: SampleStore(sets[label]).manifest_path.stat().st_mtime, default=None)


def fresh_run_name(prefix: str = "student") -> str:
    """A run name no distill run uses yet: prefix-1, prefix-2, ..."""
    taken = {p.name for p in distill_runs_dir().glob("*")} if distill_runs_dir().exists() else set()
    return next(f"{prefix}-{i}" for i in range(1, len(taken) + 2) if f"{prefix}-{i}" not in taken)


def reserve_run_name(prefix: str = "student") -> str:
    """A fresh run name, its folder made at once (mkdir fails when it exists), so two visitors who
    launch together never get the same run; an empty folder is claimed by no config (folder.py)."""
    root = distill_runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, 1_000_000):
        try:
            (root / f"{prefix}-{i}").mkdir()
            return f"{prefix}-{i}"
        except FileExistsError:
            continue
    raise DfkdError(f"No free run name {prefix}-N under {root}: name the run yourself.")


def distill_runs_dir() -> Path:
    return runs_dir() / "distill"


def distill_job(samples: str, settings: dict, name: str, teacher, teacher_source, report, should_stop):
    """Distil a student from a sample-set folder into runs/distill/<name> (resumes if it
    exists with the same settings). report(("progress", done, total)) and report(("epoch", row))
    stream; returns the run's results, with the exported files. When should_stop() turns
    true the run stops at its next training step and this raises Cancelled (its message says
    where): no student is exported, nothing is marked finished, runs_table() does not list it
    (runs_table(include_unfinished=True) lists it as cancelled)."""
    folder = distill_runs_dir() / checked_name(name, "Run")
    cfg = {"name": name, "teacher": teacher_source, "device": "auto",
           "stages": [{"samples": {"path": str(Path(samples).resolve())}}, {"distill": settings}]}
    ctx = run_pipeline(cfg, folder, teacher=teacher, log=lambda msg: None, should_stop=should_stop,
                       progress=lambda stage, done, total: report(("progress", done, total)),
                       on_metrics=lambda stage, row: report(("epoch", row)), command="DFKD Studio app")
    if ctx.cancelled:  # nothing was exported nor marked finished; rerunning resumes
        raise Cancelled(ctx.stopped_at or "cancelled")
    student = folder / "02-distill"
    files = [str(student / f) for f in ("student.safetensors", "student.json", "student.onnx")
             if (student / f).exists()]
    return {"results": ctx.results, "files": files, "folder": str(folder)}


def run_status(folder: Path) -> str:
    """finished (results.json), cancelled (stopped by its should_stop, CANCELLED.json) or
    incomplete (killed, failed, or still running)."""
    if (folder / "results.json").exists():
        return "finished"
    return "cancelled" if (folder / CANCELLED).exists() else "incomplete"


def runs_table(include_unfinished: bool = False) -> pd.DataFrame:
    """One row per finished run with a distill stage under runs/ (app runs and `dfkd run`
    runs), newest first; with include_unfinished, cancelled and incomplete ones too, with
    their status and no figures (they exported no student)."""
    rows, root = [], runs_dir()
    for config in root.glob("**/config.yaml"):
        folder = config.parent
        status = run_status(folder)
        r = json.loads((folder / "results.json").read_text()) if status == "finished" else {}
        if status == "finished" and "student" not in r:  # a run without a distill stage
            continue
        if status != "finished" and (not include_unfinished or not list(folder.glob("[0-9][0-9]-distill"))):
            continue
        stamp = folder / ("results.json" if status == "finished" else "config.yaml")
        rows.append({"run": str(folder.relative_to(root)), "status": status, "student": r.get("student"),
                     "test acc": r.get("student_test_acc"), "ratio to teacher": r.get("ratio_to_teacher"),
                     "images": r.get("train_images"), "epochs": r.get("epochs"),
                     "minutes": round(r.get("distill_wall_s", 0) / 60, 1), "_mtime": stamp.stat().st_mtime})
    if not rows:
        return pd.DataFrame(columns=[*COLUMNS])
    return pd.DataFrame(rows).sort_values("_mtime", ascending=False).drop(columns="_mtime").reset_index(drop=True)


COLUMNS = ("run", "status", "student", "test acc", "ratio to teacher", "images", "epochs", "minutes")


def sample_count(folder: str) -> int:
    return len(SampleStore(folder).manifest())


def distill_settings(settings: dict, where: str = "distill settings") -> dict:
    """The distill stage's settings as a run config holds them, checked whole against
    DistillSettings (unknown keys, types, ranges, the student's name) before any folder exists;
    an `eval` of "none" (or None) evaluates nothing."""
    settings = {k: v for k, v in settings.items() if not (k == "eval" and v in (None, "none"))}
    checked = from_mapping(DistillSettings, settings, where)  # its __post_init__ checks every field
    checked.validate(where)
    return {**settings, "student": checked.student}


# Too few images per class for a student worth having: on the demo kit 100 per class gave
# 76-79 % and 1,000 per class 91 % (BENCHMARKS.md, the results table), against 94 % for the teacher.
MIN_PER_CLASS = 100


def class_counts(folder: str, class_names) -> dict:
    """{class name: samples} of a sample set, every class of the teacher listed (0 when absent)."""
    df = SampleStore(folder).manifest()
    counts = df["target"].astype(int).value_counts().to_dict()
    return {name: int(counts.get(c, 0)) for c, name in enumerate(class_names)}


def few_images_warning(folder: str, class_names) -> str | None:
    """A warning, before distilling, when the set holds under MIN_PER_CLASS images of some class."""
    counts = class_counts(folder, class_names)
    few = {name: n for name, n in counts.items() if n < MIN_PER_CLASS}
    if not few:
        return None
    total = sum(counts.values())
    named = ", ".join(f"{name} {n}" for name, n in list(few.items())[:4]) + (" ..." if len(few) > 4 else "")
    return (f"This set holds {total:,} images, under {MIN_PER_CLASS} for {len(few)} of {len(counts)} classes "
            f"({named}). A student learns little from so few: on the demo kit 100 images per class gave a "
            "76-79 % student and 1,000 gave 91 %, against the teacher's 94 %. Add samples, or read the result as a demonstration only.")


def student_warning(results: dict, folder: str, class_names) -> str | None:
    """A warning after distilling when the student cannot be trusted: far below its teacher
    (under 0.8 of its accuracy), or trained on too few images per class."""
    ratio, few = results.get("ratio_to_teacher"), few_images_warning(folder, class_names)
    if ratio is not None and ratio < 0.8:
        return (f"The student reached {100 * results['student_test_acc']:.1f} %, {ratio:.0%} of the teacher's "
                f"accuracy: it has not learnt the teacher's task. " + (few or "Train longer or on more images."))
    return few
