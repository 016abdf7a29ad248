"""Issue 34, part 2: a store only ever holds valid rows. Every write is checked (finite
numbers, targets within the classes, JSON without NaN) and every read of a damaged row is
refused with the file, line and sample id, by the filter, the export, the judges and the
shards alike (a target 99 crashed `filter` with an IndexError; NaN probabilities reached
metadata.jsonl; `--guidance nan` made settings.json invalid JSON)."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
from dda_kit import NAMES, small_teacher, store_with_variations
from PIL import Image

from dfkd_core.data.shard_stream import ShardStream
from dfkd_core.data.shards import load_shards
from dfkd_core.errors import DfkdError
from dfkd_core.filter import scores as filtering
from dfkd_core.io import write_json
from dfkd_core.judges.store import store_samples
from dfkd_core.store import LabelledBatch, SampleStore
from dfkd_core.store.export import export_store

SETTINGS = {"class_names": NAMES}


def batch(targets, probs=None):
    n = len(targets)
    probs = torch.full((n, 3), 1 / 3) if probs is None else probs
    return LabelledBatch(torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(n)), torch.tensor(targets),
                         list(range(n)), probs, "test")


def files(root) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def strict_json(text: str):
    """json.loads that refuses NaN and infinity, as every reader but Python's does."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def damage(store: SampleStore, column: str, value, line: int = 3):
    df = pd.read_csv(store.manifest_path, dtype=str, keep_default_na=False)
    df.loc[line - 2, column] = value
    df.to_csv(store.manifest_path, index=False)


def test_settings_holding_nan_are_refused_and_the_store_still_takes_valid_samples(tmp_path):
    store = SampleStore(tmp_path / "set")
    store.add(batch([0]), NAMES, SETTINGS)
    before = files(store.root)
    with pytest.raises(DfkdError, match=r"dda\.guidance is not a finite number.*fix that setting"):
        store.add(batch([1, 2]), NAMES, {**SETTINGS, "dda": {"guidance": float("nan")}},
                  [{"id": "x1"}, {"id": "x2"}])
    assert files(store.root) == before
    strict_json((store.root / "settings.json").read_text())
    store.add(batch([1, 2]), NAMES, {**SETTINGS, "dda": {"guidance": 0.5}}, [{"id": "x1"}, {"id": "x2"}])
    assert len(store.manifest()) == 3


@pytest.mark.parametrize("targets, probs, message", [
    ([0, 3], None, "target 3: the teacher names 3 classes"),
    ([0, -1], None, "target -1"),
    ([0, 1], torch.tensor([[1.0, 0, 0], [float("nan")] * 3]), "teacher probabilities are not numbers from 0 to 1"),
    ([0, 1], torch.tensor([[1.0, 0, 0], [2.0, 0, 0]]), "teacher probabilities are not numbers from 0 to 1")])
def test_a_batch_that_would_not_read_back_is_refused_before_anything_is_written(tmp_path, targets, probs, message):
    store = SampleStore(tmp_path / "set")
    store.add(batch([0]), NAMES, SETTINGS)
    before = files(store.root)
    with pytest.raises(DfkdError, match=message):
        store.add(LabelledBatch(torch.rand(2, 1, 8, 8), torch.tensor(targets), [5, 6],
                                torch.full((2, 3), 1 / 3) if probs is None else probs, "test"), NAMES, SETTINGS)
    assert files(store.root) == before


@pytest.mark.parametrize("value", ["nan;nan;nan", "0.5;0.5", "2;0;0", "0.1;inf;0", "-0.1;0.6;0.5"])
def test_damaged_probabilities_are_named_and_never_exported(tmp_path, value):
    store = SampleStore(tmp_path / "set")
    store.add(batch([0, 1, 2]), NAMES, SETTINGS)
    damage(store, "teacher_probs", value)
    message = rf"metadata.csv, line 3 \(sample 'c001-s1'\): teacher_probs is '{value}', expected 3 probabilities from 0 to 1"
    for read in (store.manifest, lambda: export_store(store.root, "hf", tmp_path / "hf")):
        with pytest.raises(DfkdError, match=message):
            read()
    assert not (tmp_path / "hf").exists()


def test_a_target_beyond_the_classes_is_named_by_filter_export_and_judges(tmp_path):
    store = store_with_variations(tmp_path / "store")
    damage(store, "target", "99")
    message = r"metadata.csv, line 3 \(sample 'c000-s1'\): target is 99, expected a class index below 3"
    for read in (lambda: filtering.score_store(store, small_teacher()), lambda: store_samples(store),
                 lambda: export_store(store.root, "webdataset", tmp_path / "wds")):
        with pytest.raises(DfkdError, match=message):
            read()


def test_a_store_that_names_no_classes_is_checked_against_the_teacher(tmp_path):
    store = SampleStore(tmp_path / "set")
    store.add(batch([0, 1, 2]), NAMES, {"made": "without class names"})
    damage(store, "target", "7")
    message = r"metadata.csv, line 3 \(sample 'c001-s1'\): target 7 is not one of the teacher's 3 classes"
    with pytest.raises(DfkdError, match=message):
        filtering.score_store(store, small_teacher())
    with pytest.raises(DfkdError, match="line 3 .*not one of the judges' 3 classes"):
        store_samples(store, classes=3)


def test_every_json_line_of_an_export_is_strict_json(tmp_path):
    store = store_with_variations(tmp_path / "store")
    export_store(store.root, "hf", tmp_path / "hf")
    for line in (tmp_path / "hf" / "train" / "metadata.jsonl").read_text().splitlines():
        assert len(strict_json(line)["teacher_probs"]) == 3
    strict_json((tmp_path / "hf" / "export.json").read_text())


def test_json_with_nan_is_never_written(tmp_path):
    with pytest.raises(ValueError, match=r"results.json: metrics.1.loss is not a finite number"):
        write_json(tmp_path / "results.json", {"metrics": [{"loss": 1.0}, {"loss": float("nan")}]})
    assert not list(tmp_path.iterdir())


def shards(folder, labels, class_names=None):
    """One WebDataset shard of grey 4x4 samples with these .cls labels (and info.json naming the classes)."""
    import webdataset as wds
    folder.mkdir()
    with wds.TarWriter(str(folder / "shard-000000.tar")) as sink:
        for i, label in enumerate(labels):
            png = io.BytesIO()
            Image.fromarray(np.full((4, 4), 10 * i, np.uint8)).save(png, format="PNG")
            sink.write({"__key__": f"s{i}", "png": png.getvalue(), "cls": label})
    if class_names:
        (folder / "info.json").write_text(json.dumps({"class_names": class_names}))
    return folder


def test_a_shard_label_beyond_the_classes_is_named_with_its_shard_and_key(tmp_path):
    named = shards(tmp_path / "named", [0, 99, 1], NAMES)
    message = r"shard-000000.tar: sample s1: its .cls is 99, expected one of the 3 classes"
    with pytest.raises(DfkdError, match=message):
        list(ShardStream(named, shuffle=0).batches(2))
    with pytest.raises(DfkdError, match=message):
        load_shards(named)
    bare = shards(tmp_path / "bare", [0, 5, -1])  # no info.json: the caller's class count, and never negative
    assert next(ShardStream(bare, shuffle=0, classes=6).batches(2))[1].tolist() == [0, 5]
    with pytest.raises(DfkdError, match="sample s2: its .cls is -1"):
        list(ShardStream(bare, shuffle=0, classes=6).batches(2))
    with pytest.raises(DfkdError, match="sample s1: its .cls is 5, expected one of the 3 classes"):
        list(ShardStream(bare, shuffle=0, classes=3).batches(2))
