"""The sample store: append-only rows in metadata.csv, settings written once, validation
of rows and images on read, old manifest.csv stores, Hugging Face `datasets` loading; and
the permissions of what the engine writes."""

import importlib
import os
import stat

import torch

import dfkd_core.io


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_importing_io_leaves_the_umask_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "umask", lambda *a: calls.append(a) or 0o022)
    importlib.reload(dfkd_core.io)
    assert calls == []


def test_weights_and_files_get_the_permissions_of_the_current_umask(tmp_path):
    old = os.umask(0o027)
    try:
        dfkd_core.io.save_state_dict(tmp_path / "w.safetensors", {"a": torch.zeros(2)})
        dfkd_core.io.write_json(tmp_path / "card.json", {"a": 1})
        os.umask(0o022)
        dfkd_core.io.save_state_dict(tmp_path / "w2.safetensors", {"a": torch.zeros(2)})
        dfkd_core.io.save_state(tmp_path / "t.pt", {"a": torch.ones(1)})  # (torch_save is gone: training state is safetensors)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "w.safetensors") == 0o640 and _mode(tmp_path / "card.json") == 0o640
    assert _mode(tmp_path / "w2.safetensors") == 0o644 and _mode(tmp_path / "t.pt") == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- the store ------------------------------------------------------------------------------------------

import json  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from dda_kit import NAMES, small_teacher  # noqa: E402

from dfkd_core.errors import DfkdError  # noqa: E402
from dfkd_core.methods.writer import add_to_sample_set
from dfkd_core.store import (  # noqa: E402
    LabelledBatch,
    SampleStore,
    features,  # noqa: E402
    store_batch,
)
from dfkd_core.store.sample_sets import unused_seed  # noqa: E402

SETTINGS = {"class_names": NAMES, "strength": 0.3, "note": "x" * 400}  # as long as a real run's settings


def batch(targets, seeds, value=None, size=8):
    gen = torch.Generator().manual_seed(sum(seeds) + 7)
    images = torch.rand(len(targets), 1, size, size, generator=gen) if value is None else \
        torch.full((len(targets), 1, size, size), value)
    return LabelledBatch(images, torch.tensor(targets), list(seeds), torch.full((len(targets), 3), 1 / 3), "test")


def test_adding_samples_the_set_already_holds_is_refused_never_replaced(tmp_path):
    """The Samples tab's default seed: a second batch on the same seeds replaced the first."""
    store = SampleStore(tmp_path / "set")
    store.add(batch([0, 1], [0, 1], value=0.2), NAMES, SETTINGS)
    before = (store.root / "images" / "c000-s0.png").read_bytes()
    with pytest.raises(DfkdError, match=r"already holds 1 of these samples \(c000-s0\).*next unused seed here is 2"):
        store.add(batch([0, 2], [0, 5], value=0.9), NAMES, SETTINGS)
    assert store.manifest()["id"].tolist() == ["c000-s0", "c001-s1"]
    assert (store.root / "images" / "c000-s0.png").read_bytes() == before
    assert not (store.root / "images" / "c002-s5.png").exists()  # refused as a whole


def test_the_samples_tab_engine_call_refuses_a_second_add_on_the_same_seeds(tmp_path):
    teacher = small_teacher()
    add_to_sample_set("mine", batch([0, 1], [0, 1]), teacher, SETTINGS, root=tmp_path)
    with pytest.raises(DfkdError, match="already holds 2 of these samples"):
        add_to_sample_set("mine", batch([0, 1], [0, 1]), teacher, {**SETTINGS, "strength": 0.9}, root=tmp_path)
    assert unused_seed("mine", root=tmp_path) == 2 and unused_seed("new", root=tmp_path) == 0
    store = add_to_sample_set("mine", batch([0, 1], [2, 3]), teacher, SETTINGS, root=tmp_path)
    assert len(store.manifest()) == 4


def test_the_variations_tab_engine_call_does_not_remake_existing_variations(tmp_path):
    from dfkd_core.methods.dda.config import DDAConfig
    from dfkd_core.methods.dda.variations import save_variations
    store, teacher, cfg = SampleStore(tmp_path / "set"), small_teacher(), DDAConfig(variations=1, strength=0.5)
    store.add(batch([0], [0]), NAMES, SETTINGS)
    save_variations(store, batch([0], [7], value=0.1), [("c000-s0", 1)], cfg, teacher)
    with pytest.raises(DfkdError, match="c000-s0-v1.*overwrite explicitly"):
        save_variations(store, batch([0], [7], value=0.8), [("c000-s0", 1)], DDAConfig(variations=1, strength=0.9),
                        teacher)
    assert store.manifest().set_index("id").loc["c000-s0-v1", "strength"] == 0.5
    save_variations(store, batch([0], [7], value=0.8), [("c000-s0", 1)], DDAConfig(variations=1, strength=0.9),
                    teacher, replace=True)  # the explicit overwrite
    df = store.manifest()
    assert len(df) == 2 and df.set_index("id").loc["c000-s0-v1", "strength"] == 0.9


def test_settings_are_written_once_and_rows_stay_short(tmp_path):
    store = SampleStore(tmp_path / "set")
    for k in range(3):
        store.add(batch([0, 1], [2 * k, 2 * k + 1]), NAMES, SETTINGS)
    store.add(batch([2], [9]), NAMES, {**SETTINGS, "strength": 0.5})
    registry = json.loads((store.root / "settings.json").read_text())
    assert len(registry) == 2 and SETTINGS in registry.values()
    lines = (store.root / "metadata.csv").read_text().splitlines()
    assert len(lines) == 8 and "note" not in "".join(lines[1:]) and max(map(len, lines[1:])) < 200
    df = store.manifest()
    assert json.loads(df["settings"].iloc[-1])["strength"] == 0.5 and (df["file"] == df["file_name"]).all()
    assert store.load().class_names == NAMES


def test_a_store_loads_with_hugging_face_datasets(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    store = SampleStore(tmp_path / "set")
    store.add(batch([0, 1, 2], [0, 1, 2]), NAMES, SETTINGS)
    store_batch(store, batch([2, 0], [5, 6]), small_teacher(), SETTINGS)  # and its feature cache beside it
    ds = datasets.load_dataset("imagefolder", data_dir=str(store.root), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert sorted(ds["id"]) == sorted(store.manifest()["id"]) and len(ds) == 5
    row = ds[ds["id"].index("c002-s5")]
    assert row["target"] == 2 and row["image"].size == (8, 8)
    assert np.array_equal(np.asarray(row["image"]), store.load(["c002-s5"]).images[0, 0].numpy())


def _old_manifest(root, n=4):
    """A store as the code before metadata.csv wrote it: manifest.csv, settings on every row."""
    store = SampleStore(root / "tmp")
    store.add(batch([k % 3 for k in range(n)], list(range(n))), NAMES, SETTINGS)
    df = store.manifest().drop(columns=["file_name", "settings_id"])
    (root / "old" / "images").mkdir(parents=True)
    for f in df["file"]:
        (root / "old" / f).write_bytes((store.root / f).read_bytes())
    df.to_csv(root / "old" / "manifest.csv", index=False)
    return SampleStore(root / "old")


def test_an_old_manifest_reads_and_is_converted_when_added_to(tmp_path):
    old = _old_manifest(tmp_path)
    assert old.manifest_path.name == "manifest.csv" and old.exists()
    assert len(old.manifest()) == 4 and old.existing_keys() == {(0, 0), (1, 1), (2, 2), (0, 3)}
    assert old.load().class_names == NAMES
    old.add(batch([1], [9]), NAMES, SETTINGS)
    assert not (old.root / "manifest.csv").exists() and old.manifest_path.name == "metadata.csv"
    df = old.manifest()
    assert len(df) == 5 and df["settings_id"].nunique() == 1 and json.loads(df["settings"].iloc[0]) == SETTINGS


@pytest.mark.parametrize("column, value, expected", [
    ("target", "three", "whole number"), ("seed", "", "whole number"), ("file_name", "../../etc/passwd", "plain name"),
    ("teacher_prob", "7", "from 0 to 1"), ("settings_id", "s000", "settings ids"), ("variation", "-1", ">= 0")])
def test_a_damaged_row_is_named_with_what_to_do(tmp_path, column, value, expected):
    store = SampleStore(tmp_path / "set")
    store.add(batch([0, 1, 2], [0, 1, 2]), NAMES, SETTINGS)
    df = pd.read_csv(store.manifest_path, dtype=str, keep_default_na=False)
    df.loc[1, column] = value
    df.to_csv(store.manifest_path, index=False)
    message = rf"metadata.csv, line 3 \(sample 'c001-s1'\): {column} .*{expected}.*delete that line"
    for read in (store.manifest, store.existing_keys, store.load):  # resume and distil read the same way
        with pytest.raises(DfkdError, match=message):
            read()


def test_a_target_beyond_the_classes_is_refused_before_distilling(tmp_path):
    store = SampleStore(tmp_path / "set")
    store.add(batch([0, 1], [0, 1]), NAMES, SETTINGS)
    df = pd.read_csv(store.manifest_path)
    df.loc[1, "target"] = 40
    df.to_csv(store.manifest_path, index=False)
    message = r"metadata.csv, line 3 \(sample 'c001-s1'\): target is 40, expected a class index below 3"
    for read in (store.manifest, store.load):  # every reader (filter, export, judge, distill) reads the rows so
        with pytest.raises(DfkdError, match=message):
            read()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other size", "missing"])
def test_a_damaged_image_is_named(tmp_path, damage):
    from PIL import Image
    store = SampleStore(tmp_path / "set")
    store.add(batch([0, 1], [0, 1]), NAMES, SETTINGS)
    path = store.root / "images" / "c001-s1.png"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "garbage":
        path.write_bytes(b"not an image at all")
    elif damage == "other size":
        Image.new("L", (9, 8)).save(path)
    else:
        path.unlink()
    for read in (store.load, lambda: store.images(["c000-s0", "c001-s1"])):
        with pytest.raises(DfkdError, match=r"c001-s1\.png"):
            read()


def test_an_unfinished_last_line_is_not_a_row_and_the_next_add_repairs_it(tmp_path):
    store = SampleStore(tmp_path / "set")
    store.add(batch([0], [0]), NAMES, SETTINGS)
    with open(store.manifest_path, "a") as f:
        f.write("images/c001-s1.png,c001-s1,1,b,1,te")  # a writer killed mid-line
    assert store.manifest()["id"].tolist() == ["c000-s0"]
    store.add(batch([2], [2]), NAMES, SETTINGS)
    assert store.manifest()["id"].tolist() == ["c000-s0", "c002-s2"]


def test_each_batch_adds_a_feature_shard_and_leaves_the_others_untouched(tmp_path, monkeypatch):
    from dfkd_core.filter import scores as filtering
    store, teacher = SampleStore(tmp_path / "set"), small_teacher()
    store_batch(store, batch([0, 1], [0, 1]), teacher, SETTINGS)
    shard_dir = features.teacher_cache(store.root / "embeddings", teacher).with_suffix("")
    (first,) = shard_dir.iterdir()
    stamp = first.stat().st_mtime_ns
    for k in range(3):
        store_batch(store, batch([2], [10 + k]), teacher, SETTINGS)
    assert len(list(shard_dir.iterdir())) == 4 and first.stat().st_mtime_ns == stamp
    computed = []
    cached = filtering.compute_features(store, teacher, progress=lambda done, total: computed.append(done))
    assert computed == [] and cached.ids == store.manifest()["id"].tolist()
    monkeypatch.setattr(features, "MAX_SHARDS", 2)  # many shards: a full read merges them into one
    merged = filtering.compute_features(store, teacher, progress=lambda done, total: computed.append(done))
    assert computed == [] and len(list(shard_dir.iterdir())) == 1
    np.testing.assert_array_equal(merged.embeddings, cached.embeddings)
    fresh = filtering.compute_features(store, teacher, cache_dir=tmp_path / "fresh")
    np.testing.assert_allclose(fresh.probs, cached.probs, rtol=1e-5, atol=1e-6)


def test_a_single_file_cache_from_before_the_shards_is_read(tmp_path):
    from dfkd_core.filter import scores as filtering
    store, teacher = SampleStore(tmp_path / "set"), small_teacher()
    store.add(batch([0, 1], [0, 1]), NAMES, SETTINGS)
    df = store.manifest()
    out = features.teacher_outputs(teacher, store.images(df["id"]))
    legacy = features.teacher_cache(store.root / "embeddings", teacher)
    features._save(legacy, df["id"], features.stamps(store.root, df["file_name"]), out)
    computed = []
    cached = filtering.compute_features(store, teacher, progress=lambda done, total: computed.append(done))
    assert computed == [] and np.array_equal(cached.probs, out["probs"])


def test_a_damaged_row_stops_a_resumed_generate_run_with_its_name(tmp_path):
    """It used to survive the resume and then crash every distillation of the store."""
    from tiny_models import tiny_pixel_prior

    from dfkd_core.methods.diffdfkd.config import GenerateConfig
    from dfkd_core.methods.diffdfkd.generate import run_generation
    from dfkd_core.models.checkpoints import save_classifier
    from dfkd_core.models.zoo import build_model
    save_classifier(tmp_path / "teacher", build_model("small_cnn", 3, 1),
                    dict(arch="small_cnn", num_classes=3, in_channels=1, input_size=32, mean=[0.5], std=[0.25],
                         class_names=NAMES))
    cfg = {"out": str(tmp_path / "run"), "teacher": str(tmp_path / "teacher.json"), "per_class": 1,
           "backbone": str(tiny_pixel_prior(tmp_path / "prior")), "guidance": {"steps": 2, "strength": 0.1}}
    store = run_generation(GenerateConfig.from_dict(cfg))
    df = pd.read_csv(store.manifest_path, dtype=str, keep_default_na=False)
    df.loc[1, "seed"] = "4.5"
    df.to_csv(store.manifest_path, index=False)
    steps = []
    with pytest.raises(DfkdError, match=r"metadata.csv, line 3 \(sample 'c001-s1'\): seed is '4.5'"):
        run_generation(GenerateConfig.from_dict(cfg), should_stop=lambda: steps.append(1))
    assert steps == []  # refused before sampling anything
