"""What the Distill tab asks of the engine: the sample sets and runs on disk, a distillation
run on a sample set as a streaming job, and a table comparing past runs."""

import json
from pathlib import Path

import pandas as pd

from .data.store import SampleStore
from .pipeline import run_pipeline
from .sampling import checked_name, runs_dir


def sample_sets() -> dict[str, str]:
    """Label -> folder: the app's sample sets, and the sample stores inside runs."""
    root = runs_dir()
    found = {p.parent.name: str(p.parent) for p in sorted((root / "sample-sets").glob("*/manifest.csv"))}
    for manifest in sorted(root.glob("*/*/manifest.csv")):
        stage = manifest.parent
        if stage.parent.name != "sample-sets":
            found[f"{stage.parent.name}/{stage.name}"] = str(stage)
    return found


def distill_runs_dir() -> Path:
    return runs_dir() / "distill"


def distill_job(samples: str, settings: dict, name: str, teacher, teacher_source, report, should_stop):
    """Distil a student from a sample-set folder into runs/distill/<name> (resumes if it
    exists with the same settings). report(("progress", done, total)) and report(("epoch", row))
    stream; returns the run's results, with the exported files."""
    folder = distill_runs_dir() / checked_name(name, "Run")
    cfg = {"name": name, "teacher": teacher_source, "device": "auto",
           "stages": [{"samples": {"path": str(Path(samples).resolve())}}, {"distill": settings}]}
    ctx = run_pipeline(cfg, folder, teacher=teacher, log=lambda msg: None, should_stop=should_stop,
                       progress=lambda stage, done, total: report(("progress", done, total)),
                       on_metrics=lambda stage, row: report(("epoch", row)), command="DFKD Studio app")
    student = folder / "02-distill"
    files = [str(student / f) for f in ("student.safetensors", "student.json", "student.onnx")
             if (student / f).exists()]
    return {"results": ctx.results, "files": files, "folder": str(folder)}


def runs_table() -> pd.DataFrame:
    """One row per finished run under runs/ (app runs and `dfkd run` runs), newest first."""
    rows = []
    for results in runs_dir().glob("**/results.json"):
        r = json.loads(results.read_text())
        if "student" not in r:  # a run without a distill stage
            continue
        rows.append({"run": str(results.parent.relative_to(runs_dir())), "student": r.get("student"),
                     "test acc": r.get("student_test_acc"), "ratio to teacher": r.get("ratio_to_teacher"),
                     "images": r.get("train_images"), "epochs": r.get("epochs"),
                     "minutes": round(r.get("distill_wall_s", 0) / 60, 1), "_mtime": results.stat().st_mtime})
    if not rows:
        return pd.DataFrame(columns=["run", "student", "test acc", "ratio to teacher", "images", "epochs", "minutes"])
    return pd.DataFrame(rows).sort_values("_mtime", ascending=False).drop(columns="_mtime").reset_index(drop=True)


def sample_count(folder: str) -> int:
    return len(SampleStore(folder).manifest())
