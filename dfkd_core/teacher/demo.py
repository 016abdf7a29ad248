"""The built-in demo kit's classifiers (assets/fmnist-demo/, see README), loaded as Teachers."""

from dfkd_core.paths import STUDENT_REFERENCE, TEACHER

from .loading import load_teacher


def demo_teacher():
    return load_teacher(TEACHER)


def demo_student_reference():
    return load_teacher(STUDENT_REFERENCE)
