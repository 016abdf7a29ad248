"""Atomic file writing and JSON cards: a crash never leaves a half-written output."""

import csv
import json
import os
import secrets
from pathlib import Path

import torch
from safetensors.torch import save_file


def _new_temp_file(folder: Path, name: str, suffix: str) -> tuple[str, int]:
    """A fresh empty file beside the target, and its mode. Made with os.open(0o666) so the
    kernel applies the process's umask (mkstemp would make it 0600); the umask itself is
    never read or changed, which would race with other threads."""
    while True:
        tmp = str(folder / f".{name}.{secrets.token_hex(6)}{suffix or '.tmp'}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        mode = os.fstat(fd).st_mode & 0o777
        os.close(fd)
        return tmp, mode


def atomic_write(path, write_fn, suffix=""):
    """Call write_fn(tmp_path) then rename onto path (same folder, so the rename is atomic).
    The output gets the usual permissions (0666 less the umask), even when write_fn
    replaces the file (safetensors writes its own temporary file, 0600, and renames it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, mode = _new_temp_file(path.parent, path.name, suffix)
    try:
        write_fn(tmp)
        os.chmod(tmp, mode)
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


# Training state (model, optimiser, scheduler, random generators, counters) as one safetensors
# file: tensors under numbered keys, everything else as JSON in the file's metadata, so a
# checkpoint can hold no code (unlike a pickle) and nested dicts keep their key types.
def _split_state(obj, tensors: dict):
    if torch.is_tensor(obj):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().clone().contiguous()
        return {"tensor": key}
    if isinstance(obj, dict):
        return {"dict": [[k, _split_state(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"list": [_split_state(v, tensors) for v in obj]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise TypeError(f"cannot store a {type(obj).__name__} in a training state")


def _join_state(node, tensors: dict):
    if "tensor" in node:
        return tensors[node["tensor"]]
    if "dict" in node:
        return {k: _join_state(v, tensors) for k, v in node["dict"]}
    if "list" in node:
        return [_join_state(v, tensors) for v in node["list"]]
    return node["value"]


def save_state(path, state: dict):
    """Write a nested dict of tensors and plain values (a training checkpoint) atomically."""
    tensors = {}
    skeleton = json.dumps(_split_state(state, tensors))
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata={"dfkd_state": skeleton}),
                 suffix=".safetensors")


def load_state(path) -> dict:
    """What save_state wrote (tuples come back as lists)."""
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as f:
        skeleton = (f.metadata() or {}).get("dfkd_state")
        if skeleton is None:
            raise ValueError(f"{path} is not a training state written by this project")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return _join_state(json.loads(skeleton), tensors)
