"""The app through gradio_client (its public API endpoints)."""

import json
import re

import pytest
import torch
from conftest import needs_fmnist
from gradio_client import Client, handle_file

from dfkd_core.models.zoo import build_model
from dfkd_core.paths import TEACHER


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def _card(table) -> dict:
    return {row[0]: row[1] for row in table["data"]}


@needs_fmnist
def test_demo_teacher_loads_and_evaluates(client):
    table, status = client.predict("Demo teacher (Fashion-MNIST)", [], None, None, api_name="/load_teacher")
    card = _card(table)
    assert card["architecture"] == "wrn_16_2" and card["classes"] == "10" and card["bn layers"] == "13"
    assert card["parameters"] == f"{sum(p.numel() for p in build_model('wrn_16_2', 10, 1).parameters()):,}"
    assert card["test accuracy"] == "94.12 %" and "source" not in card  # no server path
    assert not any("/work" in str(v) or str(TEACHER.parent) in str(v) for v in card.values())
    assert "Loaded **wrn_16_2**" in status
    text = client.predict("fashion-mnist", api_name="/evaluate_teacher")
    accuracy = float(re.search(r"\*\*([\d.]+)%\*\*", text).group(1))
    assert abs(accuracy / 100 - json.loads(TEACHER.read_text())["test_accuracy"]) <= 0.002


def test_uploaded_fast_datafree_checkpoint(client, tmp_path):
    path = tmp_path / "cifar10_resnet8.pth"
    torch.save({"state_dict": build_model("resnet8", 10, 3).state_dict()}, path)
    table, status = client.predict("Upload a checkpoint", [handle_file(str(path))], "resnet8", None,
                                   api_name="/load_teacher")
    assert _card(table)["architecture"] == "resnet8" and _card(table)["input"] == "3x32x32"


def test_bad_upload_gives_a_clear_error(client, tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"state_dict": build_model("resnet8", 10, 3).state_dict()}, path)
    with pytest.raises(Exception, match="do not fit architecture 'wrn_16_1'"):
        client.predict("Upload a checkpoint", [handle_file(str(path))], "wrn_16_1", None, api_name="/load_teacher")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(Exception, match="Invalid file type"):  # refused by the File component's file_types
        client.predict("Upload a checkpoint", [handle_file(str(tmp_path / "notes.txt"))], "resnet8", None,
                       api_name="/load_teacher")


def test_upload_staging_validates_names_and_types(tmp_path):
    from components.uploads import stage_checkpoint_upload
    from dfkd_core import DfkdError
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DfkdError, match="'notes.txt' is not a checkpoint"):
        stage_checkpoint_upload([str(tmp_path / "notes.txt")])
    weird = tmp_path / "..my weights (1).pth"
    weird.write_bytes(b"x")
    staged = stage_checkpoint_upload([str(weird)])
    assert staged.name == "my_weights_1_.pth" and staged.parent != tmp_path
    with pytest.raises(DfkdError, match="Upload one weights file"):
        stage_checkpoint_upload([str(weird), str(weird)])


@needs_fmnist
def test_teacher_evaluation_cancel_stops_it(client):
    job = client.submit("fashion-mnist", api_name="/evaluate_teacher")
    import time
    while job.status().code.name not in ("PROCESSING", "ITERATING", "PROGRESS") and not job.done():
        time.sleep(0.05)
    client.predict(api_name="/cancel_evaluation")
    assert job.result().startswith("**Cancelled** after")  # 10,000 images take far longer than the cancel


def test_sample_set_dropdown_preselects_the_newest_set(runs_dir):
    import time

    from components.set_picker import listed
    from dfkd_core.methods.base import label_with_teacher
    from dfkd_core.store import SampleStore
    from dfkd_core.teacher.demo import demo_teacher
    teacher = demo_teacher()

    def make(name):
        store = SampleStore(runs_dir / "sample-sets" / name)
        store.add(label_with_teacher(teacher, torch.rand(2, 1, 32, 32), [0, 1], "noise"), teacher.class_names,
                  {"class_names": teacher.class_names})
        time.sleep(0.05)  # distinct modification times

    make("picker-a")
    make("picker-b")
    update, known = listed(None, [])  # a fresh page: every set is new, the newest is chosen
    assert update["value"] == "picker-b" and {"picker-a", "picker-b"} <= set(update["choices"])
    update, known = listed("picker-a", known)  # nothing new: the user's choice stays
    assert update["value"] == "picker-a"
    make("picker-c")  # made in another tab
    update, known = listed("picker-a", known)
    assert update["value"] == "picker-c" and "picker-c" in known
