"""Checkpoints of long training jobs (distillation, the HiDFD GAN, the online student): one
format, safetensors + JSON (io.save_state: tensors and plain values, no code), written often
enough that Ctrl-C or a session that ends loses at most about SAVE_SECONDS of training.

A `.pt` checkpoint of a version before that format (a torch pickle) is refused with a message:
starting over silently would hide that the work is lost."""

import time
from pathlib import Path

from dfkd_core.errors import DfkdError

SAVE_SECONDS = 30.0  # what an interrupt may cost; a small student's checkpoint is written in milliseconds


class SaveClock:
    """When the next checkpoint is due: SAVE_SECONDS of work after the last one."""

    def __init__(self):
        self.saved()

    def saved(self):
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= SAVE_SECONDS


def refuse_pickled(path) -> Path:
    """`path` (a .safetensors checkpoint), unless only an older version's .pt stands beside it."""
    path = Path(path)
    old = path.with_suffix(".pt")
    if old.exists() and not path.exists():
        raise DfkdError(f"{old} is a checkpoint of an older version of DFKD Studio (a torch pickle); this version "
                        f"writes {path.name} and cannot resume from it. Use a new output folder, or delete "
                        f"{old.name} to start this training over here.")
    return path
