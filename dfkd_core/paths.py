"""Where things live: the built-in demo kit's files, the folder of runs and sample sets,
and the plain names a run or sample set may have (never a path)."""

import os
import re
from pathlib import Path

from .errors import DfkdError

# DFKD_DEMO_ASSETS points the app and CLI at another copy of the kit (e.g. one you rebuilt).
ASSETS = Path(os.environ.get("DFKD_DEMO_ASSETS") or Path(__file__).resolve().parent.parent / "assets" / "fmnist-demo")
TEACHER = ASSETS / "teacher.json"
STUDENT_REFERENCE = ASSETS / "student-reference.json"
PRIOR = ASSETS / "prior"
TEACHER_ARCH, STUDENT_ARCH = "wrn_16_2", "wrn_16_1"
DATASET = "fashion-mnist"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def runs_dir() -> Path:
    """Where the app keeps runs and sample sets: $DFKD_RUNS_DIR, default ./runs."""
    return Path(os.environ.get("DFKD_RUNS_DIR") or "runs")


def checked_name(name: str, what: str = "Sample-set") -> str:
    """Names of sample sets and runs are plain (letters, digits, . _ -), never paths."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:  # fullmatch: no "name\n"
        raise DfkdError(f"{what} name {name!r} is not allowed. Use 1-64 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit.")
    return name


def sample_set_path(name: str, root=None) -> Path:
    return Path(root or runs_dir() / "sample-sets") / checked_name(name)
