"""Fitted judges on disk: one safetensors file per dataset + settings, written atomically,
so the second panel on the same settings starts in well under a second instead of refitting.

A file that is unreadable, too large, or fit with other settings is ignored and refit.
Delete the cache folder to refit after replacing the dataset's files."""

import hashlib
import json
import re
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from dfkd_core.io import atomic_write

from .knn import PixelKNN
from .linear import PCALinear
from .pixels import PixelPCA
from .reference import RealReference, ReferenceSettings, fit_reference

VERSION = 1  # bump when what is fitted changes, so old files are refit
MAX_BYTES = 512 * 2 ** 20


def cache_path(cache_dir, settings: ReferenceSettings) -> Path:
    key = json.dumps({"version": VERSION, **settings.key()}, sort_keys=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(settings.dataset).name)[:40] or "dataset"
    return Path(cache_dir) / f"{stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.safetensors"


def _tensors(ref: RealReference) -> dict:
    pca = ref.linear.pca
    return {"knn_bank": ref.knn.bank, "knn_labels": ref.knn.labels, "knn_mean": ref.knn.mean,
            "pca_mean": pca.mean, "pca_components": pca.components, "pca_scale": pca.scale,
            "linear_weight": ref.linear.weight, "linear_bias": ref.linear.bias,
            "test_mu": torch.from_numpy(ref.test_stats[0]), "test_cov": torch.from_numpy(ref.test_stats[1]),
            "real_spreads": ref.real_spreads}


def save_reference(path, ref: RealReference):
    meta = {"version": VERSION, "settings": ref.settings.key(), "class_names": ref.class_names,
            "image_shape": list(ref.image_shape), "test_accuracy": ref.test_accuracy,
            "test_images": ref.test_images, "fit_images": ref.fit_images}
    tensors = {k: v.detach().contiguous().cpu() for k, v in _tensors(ref).items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"reference": json.dumps(meta)}),
                 suffix=".safetensors")


def load_reference(path, settings: ReferenceSettings) -> RealReference | None:
    """The cached judges, or None when there is no usable file for these settings."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {}).get("reference", "{}"))
        if meta.get("version") != VERSION or meta.get("settings") != settings.key():
            return None
        t = load_file(str(path))
        names, shape = list(meta["class_names"]), tuple(meta["image_shape"])
        knn = PixelKNN(t["knn_bank"], t["knn_labels"], t["knn_mean"], settings.k, len(names))
        linear = PCALinear(PixelPCA(t["pca_mean"], t["pca_components"], t["pca_scale"]),
                           t["linear_weight"], t["linear_bias"])
        if tuple(knn.bank.shape[1:]) != shape or linear.weight.shape[0] != len(names):
            return None
        return RealReference(settings, names, shape, knn, linear, (t["test_mu"].numpy(), t["test_cov"].numpy()),
                             t["real_spreads"], dict(meta["test_accuracy"]), int(meta["test_images"]),
                             int(meta["fit_images"]))
    except (OSError, SafetensorError, KeyError, TypeError, ValueError):
        return None


def cached_reference(settings: ReferenceSettings, cache_dir) -> RealReference:
    """Load the judges fit with `settings` from cache_dir, or fit and cache them."""
    settings.validate()
    path = cache_path(cache_dir, settings)
    ref = load_reference(path, settings)
    if ref is None:
        ref = fit_reference(settings)
        save_reference(path, ref)
    return ref
