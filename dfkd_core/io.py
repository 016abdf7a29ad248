"""Atomic file writing and JSON cards: a crash never leaves a half-written output."""

import csv
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path, write_fn, suffix=""):
    """Call write_fn(tmp_path) then rename onto path (same folder, so the rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or ".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        write_fn(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text: str):
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def write_json(path, data: dict):
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def save_state_dict(path, state_dict: dict, metadata: dict | None = None):
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata), suffix=".safetensors")


def torch_save(path, obj):
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def write_metrics_csv(path, rows: list[dict]):
    """One row per dict (the keys of the first are the columns), written atomically."""
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    atomic_write(path, write)
