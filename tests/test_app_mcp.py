"""Each MCP tool called for real (a tiny run) through the app's API, its result checked:
they call the engine functions the tabs call. (Finding: distill_student built
DistillConfig(student=...), a field it does not have: a TypeError on every call, which a
schema-only test could not see.)"""

from pathlib import Path

import pytest
import torch
from conftest import needs_fmnist
from gradio_client import Client

from dfkd_core.methods.base import label_with_teacher
from dfkd_core.methods.writer import add_to_sample_set
from dfkd_core.teacher.demo import demo_teacher

pytestmark = needs_fmnist  # the demo teacher's judges and test set


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_generate_guided_samples_makes_and_adds_them(client, runs_dir):
    out = client.predict("Trouser, Bag", 1, 0.08, 3, "mcp-made", api_name="/generate_guided_samples")
    assert [s["class"] for s in out["samples"]] == ["Trouser", "Bag"] and out["sample_set"] == "mcp-made"
    assert [s["seed"] for s in out["samples"]] == [3, 4]  # the Samples tab's seed plan
    assert all(0 <= s["p_guided"] <= 1 and 0 <= s["p_unguided"] <= 1 for s in out["samples"])
    assert 0 <= out["mean_p_guided"] <= 1
    assert len(list((runs_dir / "sample-sets" / "mcp-made" / "images").glob("*.png"))) == 2
    with pytest.raises(Exception, match="already holds"):  # the engine's overwrite rule: refused, not replaced
        client.predict("Trouser, Bag", 1, 0.08, 3, "mcp-made", api_name="/generate_guided_samples")
    with pytest.raises(Exception, match="classes must be comma-separated names"):
        client.predict("Spaceship", 1, 0.08, 0, "", api_name="/generate_guided_samples")


def test_score_sample_set_judges_every_sample(client):
    client.predict("Sneaker", 2, 0.08, 10, "mcp-scored", api_name="/generate_guided_samples")
    result = client.predict("mcp-scored", api_name="/score_sample_set")
    assert result["samples"] == 2 and set(result["judges"]) >= {"teacher", "pixel_knn", "pca_linear"}
    assert all(0 <= j["agreement"] <= 1 for j in result["judges"].values())
    assert result["judges"]["pixel_knn"]["kind"] == "texture-proof" and "class_names" not in result
    with pytest.raises(Exception, match="No sample store"):
        client.predict("no-such-set", api_name="/score_sample_set")


def test_distill_student_trains_exports_and_measures_a_student(client, runs_dir):
    teacher = demo_teacher()
    images = torch.rand(32, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    add_to_sample_set("mcp-noise", label_with_teacher(teacher, images, list(range(32)), "noise"), teacher,
                      {"class_names": teacher.class_names})
    out = client.predict("mcp-noise", "resnet8", 1, "mcp-run", api_name="/distill_student")
    assert out["results"]["student"] == "resnet8" and out["results"]["train_images"] == 32
    assert 0 <= out["results"]["student_test_acc"] <= 1 and out["results"]["test_set"]
    assert sorted(Path(f).name for f in out["files"]) == ["student.json", "student.onnx", "student.safetensors"]
    assert (runs_dir / "distill" / "mcp-run" / "results.json").is_file()
    with pytest.raises(Exception, match="student must be one of"):
        client.predict("mcp-noise", "resnet9", 1, "mcp-run-2", api_name="/distill_student")
    with pytest.raises(Exception, match="Unknown sample set"):
        client.predict("nope", "resnet8", 1, "mcp-run-3", api_name="/distill_student")
