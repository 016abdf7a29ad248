"""Validation of uploaded files before they reach the engine."""

import re
import shutil
import tempfile
from pathlib import Path

from dfkd_core import DfkdError

CHECKPOINT_SUFFIXES = {".safetensors", ".pth", ".pt", ".json"}
MAX_UPLOAD_BYTES = 2 * 1024 ** 3
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def stage_checkpoint_upload(paths: list[str]) -> Path:
    """Copy uploaded checkpoint files into a fresh folder under safe names and return the
    file to load: the card (.json) when one was uploaded (its weights beside it), else the
    single weights file."""
    if not paths:
        raise DfkdError("No file uploaded. Upload a .safetensors/.pth/.pt checkpoint, or a card (.json) with its weights.")
    folder = Path(tempfile.mkdtemp(prefix="dfkd-upload-"))
    staged = []
    for p in paths:
        src = Path(p)
        if src.suffix.lower() not in CHECKPOINT_SUFFIXES:
            raise DfkdError(f"'{src.name}' is not a checkpoint. Expected one of: {', '.join(sorted(CHECKPOINT_SUFFIXES))}.")
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
