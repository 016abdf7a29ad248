"""The store's feature cache: per sample, the teacher's probabilities and penultimate
features (and CLIP embeddings), keyed by sample id and by the image file's size and
time, so scoring never recomputes them and an interrupted computation resumes.

A cache (e.g. <store>/embeddings/teacher-<fingerprint>) is a folder of safetensors
shards; each computed batch adds a new shard, so adding to a store of 50,000 samples
costs what adding to a store of 1,000 does. Reading merges the shards (a later shard
wins) and, once there are many, rewrites them as one. A single-file cache from before
the shards (<name>.safetensors) is read as the oldest shard."""

import hashlib
import json
import os
import secrets
import time
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

from dfkd_core.errors import Cancelled
from dfkd_core.io import atomic_write

MAX_SHARDS = 64  # a full read merges more than this into one shard
_FINGERPRINTS = weakref.WeakKeyDictionary()  # teachers are frozen: hash each one's weights once


def teacher_fingerprint(teacher) -> str:
    if teacher not in _FINGERPRINTS:
        h = hashlib.sha1(f"{teacher.in_channels}:{teacher.input_size}".encode())
        for name, tensor in sorted(teacher.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        _FINGERPRINTS[teacher] = h.hexdigest()
    return _FINGERPRINTS[teacher]


@torch.no_grad()
def teacher_outputs(teacher, images: torch.Tensor) -> dict:
    """{"probs": (N, K), "features": (N, D) penultimate features} as float32 arrays."""
    logits, feats = teacher.logits_and_features(images.to(teacher.device))
    return {"probs": logits.softmax(-1).float().cpu().numpy(), "features": feats.float().cpu().numpy()}


def stamps(root: Path, files) -> list[str]:
    stats = [(root / f).stat() for f in files]
    return [f"{s.st_size}:{s.st_mtime_ns}" for s in stats]


def teacher_cache(cache_dir: Path, teacher) -> Path:
    return Path(cache_dir) / f"teacher-{teacher_fingerprint(teacher)[:16]}.safetensors"


def _shard_dir(path: Path) -> Path:
    return path.with_suffix("")


def write_shard(path: Path, ids, row_stamps, arrays: dict):
    """One new shard of the cache `path`: rows `ids` with their stamps. Names sort by time."""
    folder = _shard_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}.safetensors"
    _save(folder / name, ids, row_stamps, arrays)


def _save(file: Path, ids, row_stamps, arrays: dict):
    arrays = {n: np.ascontiguousarray(a) for n, a in arrays.items()}
    meta = {"index": json.dumps([[i, s] for i, s in zip(ids, row_stamps)])}
    atomic_write(file, lambda tmp: save_file(arrays, tmp, metadata=meta), suffix=".safetensors")


def _read_shard(file: Path):
    with safe_open(str(file), "np") as f:
        index = json.loads(f.metadata()["index"])
        return index, {n: f.get_tensor(n) for n in f.keys()}  # noqa: SIM118 - safe_open is not a mapping


def read_cache(path: Path) -> dict:
    """id -> (stamp, shard arrays, row) over every shard, a later shard winning."""
    files = ([path] if path.exists() else []) + sorted(_shard_dir(path).glob("*.safetensors"))
    rows, read = {}, []
    for file in files:
        try:
            index, arrays = _read_shard(file)
        except FileNotFoundError:  # merged into another shard meanwhile: those rows are recomputed
            continue
        read.append(file)
        rows.update({i: (st, arrays, j) for j, (i, st) in enumerate(index)})
    if len(read) > MAX_SHARDS:
        _merge(path, read, rows)
    return rows


def _merge(path: Path, files, rows: dict):
    """Rewrite the shards `files` as one, named after the newest so that it sorts where they did."""
    ids = list(rows)
    arrays = {n: np.stack([rows[i][1][n][rows[i][2]] for i in ids]) for n in rows[ids[0]][1]}
    newest = [f for f in files if f.parent == _shard_dir(path)][-1]
    _save(newest.with_name(f"{newest.stem}-m.safetensors"), ids, [rows[i][0] for i in ids], arrays)
    for file in files:
        file.unlink(missing_ok=True)


def cached_rows(path: Path, ids, row_stamps, compute, batch_size: int, progress=None, should_stop=None) -> dict:
    """{name: (N, ...) array} for `ids`. Rows cached under the same (id, stamp) are read; the
    others come from compute(ids) -> {name: array}, in batches, each saved as a new shard."""
    rows = read_cache(path)
    todo = [(i, st) for i, st in zip(ids, row_stamps) if rows.get(i, (None,))[0] != st]
    for start in range(0, len(todo), batch_size):
        if should_stop and should_stop():
            raise Cancelled()
        chunk = todo[start:start + batch_size]
        out = compute([i for i, _ in chunk])
        write_shard(path, [i for i, _ in chunk], [st for _, st in chunk], out)
        rows.update({i: (st, out, j) for j, (i, st) in enumerate(chunk)})
        if progress:
            progress(start + len(chunk), len(todo))
    names = rows[ids[0]][1].keys() if ids else []
    return {n: np.stack([rows[i][1][n][rows[i][2]] for i in ids]) for n in names}


def store_batch(store, batch, teacher, settings: dict, overrides=None, replace: bool = False) -> pd.DataFrame:
    """store.add, then the teacher's outputs on the stored images go into the store's
    feature cache as one new shard, so scoring and the Filter tab's first view need no
    teacher pass later (a few % on top of sampling, which ran the teacher at every step)."""
    new = store.add(batch, teacher.class_names, settings, overrides, replace=replace)
    files = new["file_name"].tolist()
    out = teacher_outputs(teacher, store.read_files(files))
    write_shard(teacher_cache(store.root / "embeddings", teacher), new["id"].tolist(), stamps(store.root, files), out)
    return new
