"""Atomic file writing and JSON cards: a crash never leaves a half-written output, a full
disk names the file, JSON holds finite numbers only, and an output a user names never
replaces a file the project did not write (write_output)."""

import csv
import errno
import io
import json
import math
import os
import secrets
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .errors import DfkdError


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


# What to do when a write fails for a reason the user can fix (any other OSError is a bug
# and keeps its traceback, with the file named in a note).
_WRITE_FIXES = {errno.ENOSPC: "the disk is full: free some space, or write to another disk",
                errno.EDQUOT: "the disk quota is used up: free some space, or write to another disk",
                errno.EFBIG: "the file is too large for this file system: write to another one",
                errno.EACCES: "permission denied: choose a folder you can write to",
                errno.EPERM: "the system does not permit it: choose a folder you can write to",
                errno.EROFS: "the file system is read-only: choose a folder you can write to"}


def _write_failed(path: Path, e: OSError):
    fix = _WRITE_FIXES.get(e.errno)
    if fix is None:
        e.add_note(f"while writing {path}")
        return e
    return DfkdError(f"Could not write {path}: {fix} ({e.strerror or e}). Nothing was changed at that path.")


def atomic_write(path, write_fn, suffix=""):
    """Call write_fn(tmp_path) then rename onto path (same folder, so the rename is atomic).
    The output gets the usual permissions (0666 less the umask), even when write_fn
    replaces the file (safetensors writes its own temporary file, 0600, and renames it).
    A full disk or a folder that cannot be written is a DfkdError naming the path."""
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp, mode = _new_temp_file(path.parent, path.name, suffix)
        write_fn(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        error = _write_failed(path, e)
        if error is e:
            raise
        raise error from e
    finally:
        if tmp and os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text: str):
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def _non_finite(data, at: str = ""):
    """The key path of the first NaN or infinity in nested dicts and lists, else None."""
    if isinstance(data, float) and not math.isfinite(data):
        return at or "the value"
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, (list, tuple)) else ()
    for key, value in items:
        found = _non_finite(value, f"{at}.{key}" if at else str(key))
        if found:
            return found
    return None


def json_text(data, where: str = "JSON", **kw) -> str:
    """json.dumps that refuses NaN and infinity (not JSON: other readers reject the file),
    naming where and which key; kw: indent, sort_keys, default."""
    try:
        return json.dumps(data, allow_nan=False, **kw)
    except ValueError:
        raise ValueError(f"{where}: {_non_finite(data)} is not a finite number, and JSON holds only finite "
                         "numbers; nothing was written.") from None


def write_json(path, data: dict):
    write_text(path, json_text(data, str(path), indent=2) + "\n")


# Outputs a user names (a scores CSV, a grid, a figures JSON): an existing file there is
# replaced only when asked to (overwrite), or when the project wrote it, which its mark
# tells: a PNG's "Software" text chunk, a JSON object's "written_by" key; CSV files carry no
# mark, so their writer names the header it writes (csv_header).
SOFTWARE = "DFKD Studio"
MAX_MARKED = 64 * 2**20  # a marked file is a figure or a report: larger ones are not read to look for the mark


def png_bytes(image) -> bytes:
    """A PIL image as PNG bytes carrying the project's mark."""
    from PIL.PngImagePlugin import PngInfo  # heavy: keeps PIL off importing io
    info, buf = PngInfo(), io.BytesIO()
    info.add_text("Software", SOFTWARE)
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def json_bytes(data: dict, where: str = "JSON", default=None) -> bytes:
    """A JSON object, marked as the project's, finite numbers only."""
    return (json_text({"written_by": SOFTWARE, **data}, where, indent=2, default=default) + "\n").encode()


def made_here(path: Path) -> bool:
    """Whether the file at path carries the project's mark (a PNG's or a JSON object's)."""
    try:
        if path.stat().st_size > MAX_MARKED:
            return False
        if path.suffix.lower() == ".png":
            from PIL import Image  # heavy: keeps PIL off importing io
            with Image.open(path) as im:
                return im.info.get("Software") == SOFTWARE
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_bytes())
            return isinstance(data, dict) and data.get("written_by") == SOFTWARE
    except (OSError, ValueError, SyntaxError):
        return False
    return False


def csv_header(columns):
    """An `ours` test for write_output: the file's first line is exactly this header."""
    header = ",".join(columns).encode()

    def ours(path: Path) -> bool:
        try:
            with open(path, "rb") as f:
                return f.readline(len(header) + 2).rstrip(b"\r\n") == header
        except OSError:
            return False
    return ours


def check_output(path, overwrite: bool = False, ours=made_here) -> Path:
    """Refuse to write to `path` when something the project did not write is there (ours(path)
    false), unless overwrite; a folder is always refused. Call it before the work, so the
    refusal costs nothing."""
    path = Path(path)
    if path.is_dir():
        raise DfkdError(f"{path} is a folder; name a file to write.")
    if (path.exists() or path.is_symlink()) and not overwrite and not ours(path):
        raise DfkdError(f"{path} already exists and was not written by {SOFTWARE}, so nothing was written. Name a "
                        "new file, or ask to overwrite it (--overwrite).")
    return path


def write_output(path, data: bytes | str, overwrite: bool = False, ours=made_here) -> Path:
    """data written to a path the user named (check_output, then one atomic write)."""
    return write_outputs({path: data}, overwrite, ours)[0]


def write_outputs(files: dict, overwrite: bool = False, ours=made_here) -> list[Path]:
    """Several outputs of one command ({path: bytes or text}): every path is checked before
    any is written, so a refusal leaves all of them as they were."""
    paths = [check_output(p, overwrite, ours) for p in files]
    for path, data in zip(paths, files.values()):
        data = data.encode() if isinstance(data, str) else data
        atomic_write(path, lambda tmp, data=data: Path(tmp).write_bytes(data), suffix=path.suffix)
    return paths


def save_state_dict(path, state_dict: dict, metadata: dict | None = None):
    tensors = {k: v.detach().contiguous().cpu() for k, v in state_dict.items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata), suffix=".safetensors")


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
    with safe_open(str(path), framework="pt") as f:
        skeleton = (f.metadata() or {}).get("dfkd_state")
        if skeleton is None:
            raise ValueError(f"{path} is not a training state written by this project")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return _join_state(json.loads(skeleton), tensors)
