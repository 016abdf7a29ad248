"""Scores, the ω/τ filter, the per-sample feature cache, CLIP embeddings, and `dfkd filter`."""

import os

import numpy as np
import pandas as pd
import pytest
from dda_kit import small_teacher, store_with_variations, teacher_card
from tiny_models import tiny_clip_vision

from dfkd_core import DfkdError
from dfkd_core.cli import main
from dfkd_core.filter import scores as filtering
from dfkd_core.store import SampleStore


class CountingTeacher:
    """Wraps a teacher and counts the images it embeds."""

    def __init__(self, teacher):
        self.teacher, self.images = teacher, 0

    def __getattr__(self, name):
        return getattr(self.teacher, name)

    def logits_and_features(self, images):
        self.images += len(images)
        return self.teacher.logits_and_features(images)


@pytest.fixture
def store(tmp_path):
    return store_with_variations(tmp_path / "store")


def test_omega_minus_one_keeps_all_and_one_keeps_only_identical_embeddings(store):
    scores = filtering.score_store(store, small_teacher(), omega=-1.0)
    assert list(scores.columns) == filtering.COLUMNS and len(scores) == 18
    assert scores["kept"].all()
    strict = filtering.apply_thresholds(scores, 1.0, 0.0)
    kept = set(strict.loc[strict["kept"], "id"])
    assert kept == set(scores.loc[scores["variation"] < 2, "id"])  # the sources and their exact copies (v1)
    assert (scores.loc[scores["variation"] == 2, "cosine"] < 1).all()
    assert (scores.loc[scores["variation"] == 0, "cosine"] == 1).all()


def test_thresholds_only_recompute_flags_and_features_are_cached(store):
    teacher = CountingTeacher(small_teacher())
    scores = filtering.score_store(store, teacher)
    assert teacher.images == 18
    v2 = scores.loc[scores["variation"] == 2, "cosine"].to_numpy()
    omega = float(np.median(v2))
    flags = [filtering.apply_thresholds(scores, w, t)["kept"].sum() for w, t in ((-1, 0), (omega, 0), (1, 0))]
    assert flags[0] > flags[1] > flags[2] and teacher.images == 18
    tau = float(scores["teacher_prob"].median())
    by_tau = filtering.apply_thresholds(scores, -1, tau)
    assert (by_tau["kept"] == (scores["teacher_prob"] >= tau)).all() and not by_tau["kept"].all()
    again = filtering.score_store(store, teacher)  # every sample from the cache
    assert teacher.images == 18
    pd.testing.assert_frame_equal(again, scores)
    # A rewritten image is embedded again, alone.
    path = store.root / "images" / "c001-s0-v2.png"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    filtering.score_store(store, teacher)
    assert teacher.images == 19


def test_scores_schema_counts_and_missing_sources(store):
    teacher = small_teacher()
    scores = filtering.score_store(store, teacher, omega=0.999)
    probs = filtering.teacher_outputs(teacher, store.images(scores["id"].tolist()))["probs"]
    assert np.allclose(scores["teacher_prob"], probs[np.arange(18), scores["target"]])
    assert np.allclose(scores["entropy"], -(probs * np.log(np.clip(probs, 1e-12, None))).sum(1), atol=1e-5)
    assert (scores["teacher_pred"] == probs.argmax(1)).all() and scores["entropy"].between(0, np.log(3)).all()
    assert scores.attrs == {"embedding": "teacher", "omega": 0.999, "tau": 0.0}
    counts = filtering.class_counts(scores)
    assert counts["total"].tolist() == [6, 6, 6] and counts["variations"].tolist() == [4, 4, 4]
    assert (counts["kept"] + counts["dropped"] == counts["total"]).all() and counts["kept"].sum() == scores["kept"].sum()
    # Without its source in the store, a variation's cosine is unknown: only ω = -1 keeps it.
    ids = [i for i in store.manifest()["id"] if i != "c000-s0"]
    orphan = filtering.score_store(store.copy_to(ids, store.root.parent / "orphans"), small_teacher())
    row = orphan.set_index("id").loc["c000-s0-v1"]
    assert np.isnan(row["cosine"]) and row["kept"]
    assert not filtering.apply_thresholds(orphan, -0.99, 0).set_index("id").loc["c000-s0-v1", "kept"]


def test_clip_embeddings_from_a_local_folder(store, tmp_path, monkeypatch):
    tiny_clip_vision(tmp_path / "clip")
    loads = []
    real = filtering.ClipImageEncoder.from_folder
    monkeypatch.setattr(filtering.ClipImageEncoder, "from_folder", lambda *a, **k: loads.append(1) or real(*a, **k))
    features = filtering.compute_features(store, small_teacher(), embedding="clip", clip_model=tmp_path / "clip",
                                          batch_size=4)
    assert features.embeddings.shape == (18, 16) and features.embedding == "clip" and len(loads) == 1
    scores = filtering.scores_frame(store.manifest(), features, omega=1.0)
    assert set(scores.loc[scores["kept"], "id"]) == set(scores.loc[scores["variation"] < 2, "id"])
    filtering.compute_features(store, small_teacher(), embedding="clip", clip_model=tmp_path / "clip")
    assert len(loads) == 1  # the second time every embedding came from the cache
    assert sorted(p.name.split("-")[0] for p in (store.root / "embeddings").iterdir()) == ["clip", "teacher"]
    with pytest.raises(DfkdError, match="No CLIP image encoder"):
        filtering.compute_features(store, small_teacher(), embedding="clip", clip_model=tmp_path / "nothing")


def test_bad_thresholds_and_empty_exports_are_refused(store, tmp_path):
    scores = filtering.score_store(store, small_teacher())
    with pytest.raises(DfkdError, match="must be in"):
        filtering.apply_thresholds(scores, 1.5, 0)
    with pytest.raises(DfkdError, match="No sample is kept"):
        filtering.export_kept(store, filtering.apply_thresholds(scores, 1.0, 1.0), tmp_path / "none")
    with pytest.raises(DfkdError, match="Embedding must be"):
        filtering.compute_features(store, small_teacher(), embedding="pixels")


def test_cli_filter_writes_scores_exports_and_resumes(store, tmp_path, capsys):
    card = teacher_card(tmp_path)
    args = ["filter", str(store.root), "--teacher", card, "--omega", "1", "--device", "cpu",
            "--export", str(tmp_path / "kept")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "kept 12 of 18" in out and "kept set:" in out
    scores = pd.read_csv(store.root / "scores.csv")
    assert scores["kept"].sum() == 12 and len(SampleStore(tmp_path / "kept").manifest()) == 12
    shards = sorted((store.root / "embeddings").glob("teacher-*/*.safetensors"))  # the cache: one shard per batch
    stamps = [p.stat().st_mtime_ns for p in shards]
    assert main(args[:-2]) == 0  # rerun: nothing to embed, the cache is not rewritten
    assert sorted((store.root / "embeddings").glob("teacher-*/*.safetensors")) == shards
    assert [p.stat().st_mtime_ns for p in shards] == stamps
    assert main(["filter", str(tmp_path / "missing"), "--teacher", card]) == 2
    assert "No sample store" in capsys.readouterr().err
