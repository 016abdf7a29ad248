"""What the CLI and the app show about a teacher: its summary, and its test accuracy."""

from functools import lru_cache
from pathlib import Path

from dfkd_core.data import load_dataset
from dfkd_core.data.datasets import align_classes
from dfkd_core.models.zoo import count_batchnorm_layers, count_parameters

from .evaluate import accuracy
from .loading import load_teacher
from .model import Teacher


def describe_teacher(teacher: Teacher) -> dict:
    info = teacher.info
    summary = {
        "architecture": info.get("arch"),
        "format": info.get("format", "dfkd card"),
        "source": info.get("source"),
        "parameters": count_parameters(teacher.model),
        "input": f"{teacher.in_channels}x{teacher.input_size}x{teacher.input_size}",
        "classes": teacher.num_classes,
        "class_names": teacher.class_names,
        "bn_layers": count_batchnorm_layers(teacher.model),
    }
    for key in ("test_accuracy", "test_set", "data", "epochs", "seed", "device", "wall_time_s", "command"):
        if key in info:
            summary[f"card_{key}"] = info[key]
    return summary


def evaluate_teacher(teacher: Teacher, dataset: str, split: str = "test", data_dir=None, progress=None,
                     download: bool = False) -> dict:
    """Accuracy on a real dataset; progress(done, total) after each batch."""
    test = align_classes(load_dataset(dataset, split, root=data_dir, download=download), teacher.class_names)
    acc = accuracy(teacher, test, progress=progress)
    return {"dataset": test.name, "images": len(test), "accuracy": acc}


@lru_cache(maxsize=4)
def _cached(source: str, mtime: float, arch, num_classes):
    return load_teacher(source, arch=arch, num_classes=num_classes)


def load_teacher_cached(source, arch: str | None = None, num_classes: int | None = None) -> Teacher:
    """load_teacher for local files, reused while the file is unchanged (the app reloads often)."""
    path = Path(source)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _cached(str(source), mtime, arch, num_classes)
