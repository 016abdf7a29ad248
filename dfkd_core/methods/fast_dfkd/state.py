"""The checkpoint of a Fast-DFKD (or CMI) run, written after each stored episode: the
synthesizer's state (Fast-DFKD: the shared generator and its meta-optimiser, the BN momentum;
CMI: the projection head, its optimiser and the feature bank; both: the episode count), the
number of images the memory has taken, and the online student with its optimiser. Loaded with
torch.load(weights_only=True), after a bound on the file's size; it must have been made
with the same settings."""

import json
import pickle
from pathlib import Path

import torch

from dfkd_core.errors import DfkdError
from dfkd_core.io import torch_save

CHECKPOINT = "fast_dfkd_state.pt"
MAX_BYTES = 2 * 1024 ** 3


def save_state(path: Path, synth, student, remembered: int, settings: dict):
    torch_save(path, {"synthesizer": synth.state_dict(), "remembered": remembered,
                      "student": None if student is None else {"model": student.model.state_dict(),
                                                               "optimizer": student.optimizer.state_dict()},
                      "settings": json.dumps(settings, sort_keys=True)})


def load_state(path: Path, synth, student, settings: dict, title: str = "Fast-DFKD") -> int:
    """Restores synth and student from path; returns how many images the memory had taken."""
    if path.stat().st_size > MAX_BYTES:
        raise DfkdError(f"{path} is larger than a {title} checkpoint can be ({MAX_BYTES} bytes).")
    try:
        state = torch.load(path, map_location=synth.teacher.device, weights_only=True)
        if state["settings"] != json.dumps(settings, sort_keys=True):
            raise DfkdError(f"{path} was made with other {title} settings; use a new output folder.")
        synth.load_state_dict(state["synthesizer"])
        if student is not None:
            student.model.load_state_dict(state["student"]["model"])
            student.optimizer.load_state_dict(state["student"]["optimizer"])
        return int(state["remembered"])
    except (KeyError, TypeError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as e:
        raise DfkdError(f"{path} is not this run's {title} checkpoint ({str(e).splitlines()[0]}); "
                        "use a new output folder.")
