"""The checkpoint of a Fast-DFKD (or CMI) run, written after each stored episode: the
synthesizer's state (Fast-DFKD: the shared generator and its meta-optimiser, the BN momentum;
CMI: the projection head, its optimiser and the feature bank; both: the episode count), the
number of images the memory has taken, and the online student with its optimiser. One
safetensors file (io.save_state), read after a bound on its size; it must have been made with
the same settings. (A run folder of an older version holds a .pt instead: it is not read, and
the run catches up by making its stored episodes again, which gives the same images.)"""

import json
from pathlib import Path

import torch
from safetensors import SafetensorError

from dfkd_core.errors import DfkdError
from dfkd_core.io import load_state as read_state
from dfkd_core.io import save_state as write_state

CHECKPOINT = "fast_dfkd_state.safetensors"
MAX_BYTES = 2 * 1024 ** 3


def save_state(path: Path, synth, student, remembered: int, settings: dict):
    write_state(path, {"synthesizer": synth.state_dict(), "remembered": remembered,
                       "student": None if student is None else {"model": student.model.state_dict(),
                                                                "optimizer": student.optimizer.state_dict()},
                       "settings": json.dumps(settings, sort_keys=True)})


def load_state(path: Path, synth, student, settings: dict, title: str = "Fast-DFKD") -> int:
    """Restores synth and student from path; returns how many images the memory had taken."""
    if path.stat().st_size > MAX_BYTES:
        raise DfkdError(f"{path} is larger than a {title} checkpoint can be ({MAX_BYTES} bytes).")
    try:
        state = on_device(read_state(path), synth.teacher.device)
        if state["settings"] != json.dumps(settings, sort_keys=True):
            raise DfkdError(f"{path} was made with other {title} settings; use a new output folder.")
        synth.load_state_dict(state["synthesizer"])
        if student is not None:
            student.model.load_state_dict(state["student"]["model"])
            student.optimizer.load_state_dict(state["student"]["optimizer"])
        return int(state["remembered"])
    except (KeyError, TypeError, RuntimeError, ValueError, SafetensorError) as e:
        raise DfkdError(f"{path} is not this run's {title} checkpoint ({str(e).splitlines()[0]}); "
                        "use a new output folder.")


def on_device(state, device):
    """The state's tensors on the run's device (CMI's feature bank is used where it is loaded)."""
    if torch.is_tensor(state):
        return state.to(device)
    if isinstance(state, dict):
        return {k: on_device(v, device) for k, v in state.items()}
    if isinstance(state, list):
        return [on_device(v, device) for v in state]
    return state
