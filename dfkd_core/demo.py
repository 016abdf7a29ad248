"""The built-in Fashion-MNIST demo kit shipped in assets/fmnist-demo/ (see README)."""

import os
from pathlib import Path

# DFKD_DEMO_ASSETS points the app and CLI at another copy of the kit (e.g. one you rebuilt).
ASSETS = Path(os.environ.get("DFKD_DEMO_ASSETS") or Path(__file__).resolve().parent.parent / "assets" / "fmnist-demo")
TEACHER = ASSETS / "teacher.json"
STUDENT_REFERENCE = ASSETS / "student-reference.json"
PRIOR = ASSETS / "prior"
TEACHER_ARCH, STUDENT_ARCH = "wrn_16_2", "wrn_16_1"
DATASET = "fashion-mnist"


def demo_teacher():
    from .teacher_loading import load_teacher
    return load_teacher(TEACHER)


def demo_student_reference():
    from .teacher_loading import load_teacher
    return load_teacher(STUDENT_REFERENCE)
