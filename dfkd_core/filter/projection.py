"""Features -> 2-D coordinates for the embedding view: UMAP (umap-learn), or PCA when
asked, when there are too few points, or when UMAP fails. Results are cached on disk
under a hash of the feature matrix and the parameters.

UMAP's first call in a process compiles its numba code (12-36 s on a 2-core CPU). So:
numba caches what it can in a persistent folder ($NUMBA_CACHE_DIR, default
~/.cache/dfkd/numba, set here before numba is imported), `warm_up()` fits a tiny UMAP
in a background thread (the app calls it at start), and the k nearest neighbours are
computed exactly with torch for up to 10,000 points and handed to UMAP, which skips its
own, slow, small-data path (a Python-level callable metric on every pair)."""

import hashlib
import json
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dfkd_core.errors import DfkdError
from dfkd_core.io import atomic_write

CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dfkd"
os.environ.setdefault("NUMBA_CACHE_DIR", str(CACHE_ROOT / "numba"))

METHODS = ("auto", "umap", "pca")
MIN_UMAP_POINTS = 30  # below this, PCA shows the points as well as UMAP could
EXACT_KNN_MAX = 10_000


@dataclass
class Projection:
    xy: np.ndarray  # (N, 2) float32
    method: str  # "umap" or "pca"
    cached: bool = False
    note: str = ""  # why PCA was used instead of UMAP, if it was


def pca_2d(features: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.asarray(features, dtype=np.float64))
    x = x - x.mean(0)
    if len(x) < 2:
        return np.zeros((len(x), 2), dtype=np.float32)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    xy = (x @ v[:2].T).numpy()
    if xy.shape[1] < 2:  # a single feature
        xy = np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
    return xy.astype(np.float32)


def exact_knn(x: np.ndarray, k: int, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances) of each point's k nearest neighbours, itself first (as UMAP expects)."""
    t = torch.from_numpy(x).double()
    idx, dist = [], []
    for start in range(0, len(t), chunk):
        d, i = torch.cdist(t[start:start + chunk], t).topk(k, largest=False)
        idx.append(i)
        dist.append(d)
    return torch.cat(idx).numpy().astype(np.int32), torch.cat(dist).numpy().astype(np.float32)


def umap_2d(features: np.ndarray, n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0,
            n_epochs: int = 200) -> np.ndarray:
    import umap  # heavy: keeps umap off importing filter.projection

    x = np.ascontiguousarray(features, dtype=np.float32)
    k = min(n_neighbors, len(x) - 1)
    kw = {"precomputed_knn": exact_knn(x, k)} if len(x) <= EXACT_KNN_MAX else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_jobs overridden by random_state; no search index for transform()
        reducer = umap.UMAP(n_neighbors=k, min_dist=min_dist, random_state=seed, n_epochs=n_epochs, **kw)
        return reducer.fit_transform(x).astype(np.float32)


def cache_key(features: np.ndarray, params: dict) -> str:
    x = np.ascontiguousarray(features, dtype=np.float32)
    h = hashlib.sha1(json.dumps(params, sort_keys=True).encode())
    h.update(str(x.shape).encode())
    h.update(x.tobytes())
    return h.hexdigest()


def project(features, method: str = "auto", n_neighbors: int = 15, min_dist: float = 0.1, seed: int = 0,
            cache_dir=None) -> Projection:
    """2-D coordinates of the rows of `features` (N, D); cache_dir None: ~/.cache/dfkd/embedding."""
    if method not in METHODS:
        raise DfkdError(f"Projection method must be one of {METHODS}, got '{method}'.")
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2 or not len(x):
        raise DfkdError(f"Need a non-empty (N, D) feature matrix to project, got shape {x.shape}.")
    kind, note = ("pca" if method == "pca" else "umap"), ""
    if kind == "umap" and len(x) < MIN_UMAP_POINTS:
        kind, note = "pca", f"{len(x)} points are too few for UMAP (it needs {MIN_UMAP_POINTS})"
    params = {"method": kind, "n_neighbors": n_neighbors, "min_dist": min_dist, "seed": seed}
    path = Path(cache_dir or CACHE_ROOT / "embedding") / f"{cache_key(x, params)}.npy"
    if path.exists():
        return Projection(np.load(path), kind, cached=True, note=note)
    if kind == "pca":
        xy, used = pca_2d(x), "pca"
    else:
        try:
            xy, used = umap_2d(x, n_neighbors, min_dist, seed), "umap"
        except Exception as e:  # noqa: BLE001 - any UMAP failure falls back to PCA, and says so
            xy, used, note = pca_2d(x), "pca", f"UMAP failed ({type(e).__name__}: {e})"
    if used == kind:  # a fallback is not cached: UMAP is tried again next time
        atomic_write(path, lambda tmp: _save_npy(tmp, xy))
    return Projection(xy, used, note=note)


def _save_npy(path, array: np.ndarray):
    with open(path, "wb") as f:  # a file object: np.save would append .npy to a path
        np.save(f, array)


_warm: dict = {}
_warm_lock = threading.Lock()


def warm_up() -> threading.Thread:
    """Compile UMAP's numba code in a background thread (once per process); returns the thread."""
    with _warm_lock:
        if "thread" not in _warm:
            def fit_tiny():
                rng = np.random.default_rng(0)
                umap_2d(rng.normal(size=(200, 8)).astype(np.float32), n_epochs=20)

            _warm["thread"] = threading.Thread(target=fit_tiny, name="umap-warm-up", daemon=True)
            _warm["thread"].start()
        return _warm["thread"]
