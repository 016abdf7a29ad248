"""`dfkd export STORE --format hf|webdataset`: a Hugging Face imagefolder that
datasets.load_dataset reads, and WebDataset shards that round-trip and train a student."""

import json

import numpy as np
import pytest
import torch
from distill_kit import quadrant_images, train_teacher

from dfkd_core.cli import main
from dfkd_core.data.shards import ShardDataset, load_shards
from dfkd_core.distill.config import DistillConfig
from dfkd_core.distill.kd import distill
from dfkd_core.errors import DfkdError
from dfkd_core.methods.baselines.sources import RealImages
from dfkd_core.methods.writer import write_source
from dfkd_core.models.zoo import build_model
from dfkd_core.store import SampleStore
from dfkd_core.store.export import export_store
from dfkd_core.teacher.evaluate import accuracy
from dfkd_core.teacher.spec import resolve_teacher

COUNT = 96


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A store of real quadrant images labelled by a small_cnn teacher trained on them."""
    root = tmp_path_factory.mktemp("export")
    teacher = resolve_teacher(str(train_teacher(root)))
    source = RealImages(teacher, quadrant_images(COUNT, 5), range(COUNT))
    store = SampleStore(root / "store")
    write_source(source, store, source.plan(), 32)
    return {"store": store, "teacher": teacher, "root": root}


def test_hf_export_loads_with_datasets(kit, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "hf"
    assert main(["export", str(kit["store"].root), "--format", "hf", "--out", str(out)]) == 0
    data = datasets.load_dataset("imagefolder", data_dir=str(out), split="train")
    df = kit["store"].manifest().set_index("id")
    assert len(data) == COUNT and sorted(data["id"]) == sorted(df.index)
    for row in data.select(range(5)):
        stored = df.loc[row["id"]]
        assert row["label"] == stored["target"] and row["class_name"] == stored["class_name"]
        assert len(row["teacher_probs"]) == 4 and abs(sum(row["teacher_probs"]) - 1) < 1e-3
        assert row["teacher_probs"][row["label"]] == pytest.approx(stored["teacher_prob"], abs=1e-4)
        np.testing.assert_array_equal(np.asarray(row["image"]), kit["store"].images([row["id"]])[0, 0].mul(255)
                                      .round().byte().numpy())


def test_webdataset_export_round_trips_in_bounded_shards(kit, tmp_path, monkeypatch):
    out = tmp_path / "wds"
    summary = export_store(kit["store"].root, "webdataset", out, shard_size=40)
    assert summary["shards"] == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]  # 40 + 40 + 16
    assert json.loads((out / "info.json").read_text())["class_names"] == kit["teacher"].class_names
    df = kit["store"].manifest()
    stored = kit["store"].images(df["id"].tolist()).mul(255).round().byte()
    got = list(ShardDataset(out))
    assert len(got) == COUNT
    for (image, label, probs), want, target, text in zip(got, stored, df["target"], df["teacher_probs"]):
        assert torch.equal(image, want) and label == target
        assert torch.equal(probs, torch.tensor([float(p) for p in text.split(";")]))
    monkeypatch.setenv("WORLD_SIZE", "2")  # two ranks read disjoint shards that cover the export
    seen = []
    for rank in ("0", "1"):
        monkeypatch.setenv("RANK", rank)
        seen.append([img.sum().item() for img, _, _ in ShardDataset(out)])
    assert len(seen[0]) == 56 and len(seen[1]) == 40  # shards 0 and 2 | shard 1
    assert sorted(seen[0] + seen[1]) == sorted(img.sum().item() for img in stored)
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    loader = torch.utils.data.DataLoader(ShardDataset(out), batch_size=8, num_workers=2)  # workers split shards
    assert sorted(x.sum().item() for images, _, _ in loader for x in images) == sorted(seen[0] + seen[1])


def test_a_webdataset_export_trains_a_student(kit, tmp_path):
    out = tmp_path / "wds"
    export_store(kit["store"].root, "webdataset", out, shard_size=32)
    train = load_shards(out)
    assert train.images.shape == (COUNT, 1, 16, 16) and train.class_names == kit["teacher"].class_names
    torch.manual_seed(0)
    student = build_model("small_cnn", 4, 1)
    teacher, test = kit["teacher"], quadrant_images(128, 9)
    before = accuracy(lambda im: student(teacher.preprocess(im)), test)
    distill(student, teacher, train, None, DistillConfig(epochs=4, batch_size=16, lr=0.05, crop_pad=0, flip=False),
            tmp_path / "distill")
    after = accuracy(lambda im: student(teacher.preprocess(im)), test)
    assert after > max(0.6, before + 0.2)  # chance is 0.25


def test_bad_exports_are_refused(kit, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(DfkdError, match="not an empty folder"):
        export_store(kit["store"].root, "hf", tmp_path / "full")
    with pytest.raises(DfkdError, match="Unknown export format"):
        export_store(kit["store"].root, "parquet", tmp_path / "a")
    with pytest.raises(DfkdError, match="shard_size"):
        export_store(kit["store"].root, "webdataset", tmp_path / "b", shard_size=0)
    with pytest.raises(DfkdError, match="No WebDataset shards"):
        load_shards(tmp_path / "nothing")
    assert main(["export", str(tmp_path / "nostore"), "--format", "hf", "--out", str(tmp_path / "c")]) == 2
