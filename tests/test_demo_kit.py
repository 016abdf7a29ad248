"""The shipped demo kit (assets/fmnist-demo/): the teacher's card tells the truth."""

import json

import pytest
from conftest import needs_fmnist

from dfkd_core.models.zoo import count_parameters
from dfkd_core.paths import STUDENT_REFERENCE, TEACHER
from dfkd_core.teacher.demo import demo_teacher
from dfkd_core.teacher.loading import load_teacher
from dfkd_core.teacher.report import evaluate_teacher


@needs_fmnist
def test_shipped_teacher_meets_target_and_matches_its_card():
    teacher = demo_teacher()
    measured = evaluate_teacher(teacher, "fashion-mnist", "test")["accuracy"]
    card = json.loads(TEACHER.read_text())
    assert measured >= 0.930
    assert abs(measured - card["test_accuracy"]) <= 0.002


@pytest.mark.parametrize("card_path", [TEACHER, STUDENT_REFERENCE])
def test_cards_record_how_the_assets_were_made(card_path):
    card = json.loads(card_path.read_text())
    for field in ("data", "seed", "epochs", "command", "wall_time_s", "device", "test_accuracy"):
        assert field in card, field
    assert "teacher-train" in card["data"] and card["command"].startswith("dfkd teacher train")


def test_student_is_clearly_smaller_than_the_teacher():
    teacher, student = demo_teacher(), load_teacher(STUDENT_REFERENCE)
    assert count_parameters(student.model) * 3 < count_parameters(teacher.model)
