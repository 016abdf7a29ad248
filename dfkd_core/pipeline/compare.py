"""Distillation runs side by side: each run's curves (metrics.csv), final test accuracy and
accuracy per class, and the settings that differ between them (folder.differences of their
configs), so two runs answer "what changed, and what did it do?" at a glance.

    table = compare_runs(["distill/student-1", "distill/student-2"])

Per-class accuracy is measured once with the run's exported student on its own test set and
kept beside it (per_class.json); a run that evaluated nothing has none."""

import csv
import json
import re
from pathlib import Path

import yaml

from dfkd_core.data import load_dataset
from dfkd_core.data.datasets import align_classes
from dfkd_core.errors import DfkdError
from dfkd_core.io import write_json
from dfkd_core.paths import runs_dir
from dfkd_core.teacher.evaluate import predict
from dfkd_core.teacher.loading import load_teacher

from .folder import differences

PER_CLASS = "per_class.json"
MAX_COMPARED = 6
NOT_COMPARED = ("name",)  # differs between any two runs by definition


def run_folder(label: str) -> Path:
    """The folder of a finished run named as runs_table lists it (e.g. distill/student-1); a
    label that leaves the runs folder, or names no finished distillation, is refused."""
    root = runs_dir().resolve()
    folder = (root / str(label)).resolve()
    if root not in folder.parents or not (folder / "results.json").is_file() or not _stage(folder):
        raise DfkdError(f"No finished distillation run '{label}' under the runs folder; pick one from the Runs table.")
    return folder


def _stage(folder: Path) -> Path | None:
    stages = sorted(folder.glob("[0-9][0-9]-distill"))
    return stages[-1] if stages else None


def curve(folder: Path) -> list[dict]:
    """The run's metrics rows, one per epoch (epoch, train_loss, test_acc when measured), as numbers."""
    path = _stage(folder) / "metrics.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def _distill_settings(config: dict) -> dict:
    return next((dict(st["distill"] or {}) for st in config.get("stages", []) if "distill" in st), {})


def per_class_accuracy(folder: Path) -> dict | None:
    """{class name: accuracy} of the run's student on the test set it was evaluated on (None when it
    evaluated nothing); measured once, then read from per_class.json."""
    stage = _stage(folder)
    cached = stage / PER_CLASS
    if cached.is_file():
        return json.loads(cached.read_text())
    settings = _distill_settings(yaml.safe_load((folder / "config.yaml").read_text()) or {})
    if not settings.get("eval") or not (stage / "student.json").is_file():
        return None
    student = load_teacher(stage / "student.json")
    test = align_classes(load_dataset(settings["eval"], settings.get("eval_split", "test"),
                                      root=settings.get("data_dir")), student.class_names)
    hits = predict(student, test) == test.labels
    out = {name: round(float(hits[test.labels == c].float().mean()), 5)
           for c, name in enumerate(student.class_names) if int((test.labels == c).sum())}
    write_json(cached, out)
    return out


def _at(config, path: str):
    """The value at a dotted path of folder.differences' notation (stages[2].distill.epochs), or
    "(not set)" where the config has none."""
    value = config
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1]) - 1
            value = value[i] if isinstance(value, list) and i < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return "(not set)"
    return value


def setting_differences(configs: list[dict]) -> dict:
    """{dotted path: [value in each config]} of the settings that are not the same in all of them."""
    configs = [{k: v for k, v in c.items() if k not in NOT_COMPARED} for c in configs]
    paths = []
    for other in configs[1:]:
        for line in differences(configs[0], other):
            path = line.split(": ", 1)[0]
            if path not in paths:
                paths.append(path)
    return {p: [_at(c, p) for c in configs] for p in paths}


def compare_runs(labels) -> dict:
    """{"runs": [{"run", "student", "final_acc", "teacher_acc", "images", "epochs", "curve",
    "per_class"}], "differences": {path: [value per run]}} for 2-MAX_COMPARED finished runs."""
    labels = list(dict.fromkeys(labels or []))
    if not 2 <= len(labels) <= MAX_COMPARED:
        raise DfkdError(f"Pick 2-{MAX_COMPARED} finished runs to compare; got {len(labels)}.")
    runs, configs = [], []
    for label in labels:
        folder = run_folder(label)
        results = json.loads((folder / "results.json").read_text())
        configs.append(yaml.safe_load((folder / "config.yaml").read_text()) or {})
        runs.append({"run": label, "student": results.get("student"), "final_acc": results.get("student_test_acc"),
                     "teacher_acc": results.get("teacher_test_acc"), "images": results.get("train_images"),
                     "epochs": results.get("epochs"), "curve": curve(folder), "per_class": per_class_accuracy(folder)})
    return {"runs": runs, "differences": setting_differences(configs)}
