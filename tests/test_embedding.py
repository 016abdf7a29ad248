"""2-D projections: PCA fallback, the on-disk cache, UMAP (slow: numba compiles), warm-up."""

import os
import subprocess
import sys

import numpy as np
import pytest

from dfkd_core import DfkdError
from dfkd_core.filter import projection as embedding


def clusters(n_per=60, k=4, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 6
    labels = np.repeat(np.arange(k), n_per)
    return (centres[labels] + rng.normal(size=(len(labels), dim))).astype(np.float32), labels


def nearest_centroid_accuracy(xy, labels):
    centroids = np.stack([xy[labels == c].mean(0) for c in np.unique(labels)])
    return (np.linalg.norm(xy[:, None] - centroids[None], axis=2).argmin(1) == labels).mean()


def test_numba_caches_in_a_persistent_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | {"XDG_CACHE_HOME": str(tmp_path)}
    code = "import dfkd_core.filter.projection, numba; print(numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(tmp_path / "dfkd" / "numba")


def test_pca_keeps_clusters_apart_and_few_points_fall_back(tmp_path):
    x, labels = clusters()
    p = embedding.project(x, "pca", cache_dir=tmp_path)
    assert p.xy.shape == (240, 2) and p.method == "pca" and not p.cached
    assert nearest_centroid_accuracy(p.xy, labels) > 0.95
    few = embedding.project(x[:10], "auto", cache_dir=tmp_path)
    assert few.method == "pca" and "too few" in few.note
    assert embedding.project(x[:1], "pca", cache_dir=tmp_path).xy.shape == (1, 2)
    with pytest.raises(DfkdError, match="one of"):
        embedding.project(x, "tsne", cache_dir=tmp_path)
    with pytest.raises(DfkdError, match="non-empty"):
        embedding.project(np.zeros((0, 3)), cache_dir=tmp_path)


def test_cache_hits_on_the_same_features_and_params_only(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(embedding, "umap_2d", lambda x, *a, **k: calls.append(len(x)) or x[:, :2].copy())
    x, _ = clusters()
    first = embedding.project(x, "auto", cache_dir=tmp_path)
    again = embedding.project(x.copy(), "umap", cache_dir=tmp_path)
    assert first.method == again.method == "umap" and again.cached and calls == [240]
    assert np.array_equal(first.xy, again.xy)
    embedding.project(x, "auto", n_neighbors=5, cache_dir=tmp_path)
    x[0, 0] += 1e-3
    embedding.project(x, "auto", cache_dir=tmp_path)
    assert calls == [240, 240, 240] and len(list(tmp_path.glob("*.npy"))) == 3


def test_umap_failure_falls_back_to_pca_and_is_not_cached(tmp_path, monkeypatch):
    def broken(*a, **k):
        raise ValueError("no spectral layout")

    monkeypatch.setattr(embedding, "umap_2d", broken)
    x, _ = clusters()
    p = embedding.project(x, cache_dir=tmp_path)
    assert p.method == "pca" and "UMAP failed (ValueError: no spectral layout)" in p.note
    assert not list(tmp_path.glob("*.npy"))


def test_exact_knn_lists_each_point_first_then_its_nearest():
    x, _ = clusters(n_per=20)
    idx, dist = embedding.exact_knn(x, 5, chunk=7)
    brute = np.linalg.norm(x[:, None].astype(np.float64) - x[None], axis=2)
    assert (idx[:, 0] == np.arange(len(x))).all() and np.allclose(dist[:, 0], 0, atol=1e-3)
    assert np.allclose(dist, np.sort(brute, 1)[:, :5], atol=1e-4)


@pytest.mark.slow  # the first UMAP fit in a process compiles numba code (12-36 s on a 2-core CPU)
def test_warm_up_then_umap_separates_clusters(tmp_path):
    thread = embedding.warm_up()
    assert embedding.warm_up() is thread  # once per process
    thread.join(timeout=300)
    assert not thread.is_alive()
    x, labels = clusters()
    p = embedding.project(x, "umap", cache_dir=tmp_path)
    assert p.method == "umap" and p.note == "" and nearest_centroid_accuracy(p.xy, labels) > 0.95
    assert embedding.project(x, "umap", cache_dir=tmp_path).cached
