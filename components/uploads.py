"""Uploaded teacher checkpoints: checked, copied into a fresh folder under safe names,
loaded, and the folder deleted at once. The loaded teacher stays in memory (a few, newest
kept) under a spec the other tabs pass around like a file's."""

import hashlib
import re
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path

from dfkd_core import DfkdError
from dfkd_core.teacher.loading import load_teacher

CHECKPOINT_SUFFIXES = {".safetensors", ".pth", ".pt", ".json"}
MAX_UPLOAD_BYTES = 2 * 1024 ** 3
KEPT_TEACHERS = 4  # uploaded teachers held in memory, across sessions
SOURCE_PREFIX = "uploaded "  # a spec's source that names a teacher held here, never a path
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_loaded: OrderedDict = OrderedDict()


def stage_checkpoint_upload(paths: list[str], folder: Path | None = None) -> Path:
    """Copy uploaded checkpoint files into `folder` (default: a fresh temporary one, the
    caller's to delete) under safe names and return the file to load: the card (.json) when
    one was uploaded (its weights beside it), else the single weights file."""
    if not paths:
        raise DfkdError("No file uploaded. Upload a .safetensors/.pth/.pt checkpoint, "
                        "or a card (.json) with its weights.")
    folder = folder or Path(tempfile.mkdtemp(prefix="dfkd-upload-"))
    staged = []
    for p in paths:
        src = Path(p)
        if src.suffix.lower() not in CHECKPOINT_SUFFIXES:
            raise DfkdError(f"'{src.name}' is not a checkpoint. Expected one of: "
                            f"{', '.join(sorted(CHECKPOINT_SUFFIXES))}.")
        if src.stat().st_size > MAX_UPLOAD_BYTES:
            raise DfkdError(f"'{src.name}' is larger than {MAX_UPLOAD_BYTES // 1024 ** 3} GiB.")
        dst = folder / (_SAFE_NAME.sub("_", src.name).lstrip(".") or "upload")
        shutil.copyfile(src, dst)
        staged.append(dst)
    cards = [p for p in staged if p.suffix.lower() == ".json"]
    weights = [p for p in staged if p.suffix.lower() != ".json"]
    if cards:
        return cards[0]
    if len(weights) != 1:
        raise DfkdError(f"Upload one weights file (got {len(weights)}), or a card (.json) together with its weights.")
    return weights[0]


def load_uploaded_teacher(paths: list[str], arch: str | None, num_classes: int | None) -> tuple[object, dict]:
    """(teacher, spec) from uploaded files; nothing of the upload is left on disk."""
    folder = Path(tempfile.mkdtemp(prefix="dfkd-upload-"))
    try:
        path = stage_checkpoint_upload(paths, folder)
        arch = None if path.suffix == ".json" else (arch or None)
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.iterdir()))).hexdigest()[:12]
        source = f"{SOURCE_PREFIX}{path.name} ({digest}, {arch or 'card'}, {num_classes or 'any'} classes)"
        if source not in _loaded:
            _loaded[source] = load_teacher(path, arch=arch, num_classes=num_classes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _loaded.move_to_end(source)
    while len(_loaded) > KEPT_TEACHERS:
        _loaded.popitem(last=False)
    return _loaded[source], {"source": source, "arch": arch, "num_classes": num_classes}


def uploaded_teacher(source: str):
    """The teacher an upload spec names, or a DfkdError asking to upload it again."""
    if source not in _loaded:
        raise DfkdError("The uploaded teacher is no longer held by the app (it keeps the last "
                        f"{KEPT_TEACHERS}); upload it again in the Teacher tab.")
    return _loaded[source]
