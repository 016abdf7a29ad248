"""Reading classifier weights safely, checking them against an architecture, and saving
our own format (safetensors + JSON card).

Only safetensors and `torch.load(weights_only=True)` are used: a checkpoint cannot run code.
Every problem becomes a DfkdError that says what was expected and what was found."""

import json
import pickle
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from torch import nn

from dfkd_core.errors import DfkdError
from dfkd_core.io import check_output, save_state_dict, write_json

from .names import ARCHITECTURES, canonical_arch
from .zoo import build_model

CARD_FORMAT = "dfkd-classifier/1"
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "student", "teacher")


def read_state_dict(path) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors file or a PyTorch checkpoint (a state dict, possibly
    wrapped as {'state_dict': ...} like Fast-Datafree/CMI files, possibly with the
    'module.' prefix of DataParallel)."""
    path = Path(path)
    if not path.is_file():
        raise DfkdError(f"Checkpoint {path} does not exist.")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise DfkdError(f"{path} is not a readable safetensors file ({e}). The file may be corrupt or truncated.")
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic != b"PK" and magic[:1] != b"\x80":  # neither torch's zip format nor a legacy pickle
        raise DfkdError(f"{path} is not a PyTorch checkpoint or safetensors file. The file may be corrupt or "
                        "truncated, or in another format.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        reason = next((ln.strip() for ln in str(e).splitlines() if "unsupported" in ln.lower()), "unsupported object")
        raise DfkdError(f"{path} holds objects other than tensors and plain containers, which are not loaded "
                        f"for safety (weights_only=True): {reason}. Re-save its state_dict with "
                        "torch.save(model.state_dict(), path) or convert it to safetensors.")
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as e:
        raise DfkdError(f"{path} is not a readable PyTorch checkpoint ({str(e).splitlines()[0]}). "
                        "The file may be corrupt or truncated.")
    for key in _WRAPPER_KEYS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        found = type(obj).__name__ if not isinstance(obj, dict) else f"a dict with keys {list(obj)[:6]}"
        raise DfkdError(f"{path} does not contain a state dict of tensors (found {found}). Expected a state dict, "
                        f"or a dict holding one under one of {list(_WRAPPER_KEYS)}.")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def _first_conv_in_channels(model: nn.Module, state_dict: dict) -> int | None:
    """Input channels of the checkpoint's stem: the first conv weight in the model's own
    order (a file's key order may be alphabetical, as in safetensors)."""
    first = next(k for k, v in model.state_dict().items() if v.ndim == 4)
    return state_dict[first].shape[1] if first in state_dict and state_dict[first].ndim == 4 else None


def describe_mismatch(model: nn.Module, state_dict: dict, what: str) -> str | None:
    """None if state_dict fits model exactly, else a short account of the differences."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [f"{k}: expected {tuple(expected[k].shape)}, found {tuple(state_dict[k].shape)}"
              for k in expected if k in state_dict and expected[k].shape != state_dict[k].shape]
    if not (missing or unexpected or shapes):
        return None

    def listing(items):
        return ", ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")

    parts = [f"{len(missing)} missing keys ({listing(missing)})" if missing else "",
             f"{len(unexpected)} unexpected keys ({listing(unexpected)})" if unexpected else "",
             f"{len(shapes)} shape mismatches ({listing(shapes)})" if shapes else ""]
    return f"The weights do not fit {what}: " + "; ".join(p for p in parts if p) + "."


def guess_architectures(state_dict: dict) -> list[str]:
    """Zoo architectures whose state-dict layout (keys and shapes) matches exactly."""
    matches = []
    for arch in ARCHITECTURES:
        probe = build_model(arch, 10, 3)
        head = f"{probe.head_name}.weight"
        in_ch = _first_conv_in_channels(probe, state_dict)
        if head in state_dict and in_ch:
            model = build_model(arch, state_dict[head].shape[0], in_ch)
            if describe_mismatch(model, state_dict, arch) is None:
                matches.append(arch)
    return matches


def load_zoo_model(path, arch: str, num_classes: int | None = None, in_channels: int | None = None) -> nn.Module:
    """A zoo model with the checkpoint's weights, loaded strictly; class and channel
    counts are read off the weights and checked against the ones given."""
    return zoo_model_from_state_dict(read_state_dict(path), arch, num_classes, in_channels, path)


def zoo_model_from_state_dict(state_dict: dict, arch: str, num_classes: int | None = None,
                              in_channels: int | None = None, where="the checkpoint") -> nn.Module:
    """The model is built with the sizes found in the weights, never with declared ones (a
    declared size only has to agree): a file cannot make us allocate more than it holds."""
    arch = canonical_arch(arch)
    probe = build_model(arch, 10, 3)
    head_key = f"{probe.head_name}.weight"
    found_classes = state_dict[head_key].shape[0] if head_key in state_dict else None
    found_channels = _first_conv_in_channels(probe, state_dict)
    if num_classes is not None and found_classes is not None and found_classes != num_classes:
        raise DfkdError(f"{where}: wrong class count: you asked for {num_classes} classes but the checkpoint's "
                        f"classifier ({head_key}) has {found_classes} outputs.")
    if in_channels is not None and found_channels is not None and found_channels != in_channels:
        raise DfkdError(f"{where}: wrong input channels: you asked for {in_channels} but the checkpoint's first "
                        f"convolution takes {found_channels}.")
    model = build_model(arch, found_classes or 10, found_channels or 3)
    problem = describe_mismatch(model, state_dict, f"architecture '{arch}'")
    if problem:
        guesses = [g for g in guess_architectures(state_dict) if g != arch]
        hint = f" The file matches: {', '.join(guesses)}." if guesses else ""
        raise DfkdError(f"{where}: {problem}{hint}")
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def _saved_here(path: Path) -> bool:
    """A card or weights file save_classifier wrote (its `format` says so): a rerun may replace it."""
    try:
        if path.suffix == ".json":
            return path.stat().st_size <= MAX_CARD_BYTES and json.loads(path.read_bytes()).get("format") == CARD_FORMAT
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("format") == CARD_FORMAT
    except (OSError, ValueError, AttributeError, SafetensorError):
        return False


def save_classifier(path, model: nn.Module, card: dict, overwrite: bool = False) -> tuple[Path, Path]:
    """Write PATH.safetensors and PATH.json (the card). The card must name arch,
    num_classes, in_channels, input_size, mean, std and class_names. Files there that this
    project did not write are refused (both checked before either is written) unless overwrite."""
    path = Path(path).with_suffix("")
    required = {"arch", "num_classes", "in_channels", "input_size", "mean", "std", "class_names"}
    missing = required - set(card)
    assert not missing, f"card lacks {missing}"
    weights = path.with_suffix(".safetensors")
    for output in (weights, path.with_suffix(".json")):
        check_output(output, overwrite, _saved_here)
    save_state_dict(weights, model.state_dict(), metadata={"format": CARD_FORMAT, "arch": card["arch"]})
    card = {"format": CARD_FORMAT, "weights": weights.name, **card}
    write_json(path.with_suffix(".json"), card)
    return weights, path.with_suffix(".json")


MAX_CARD_BYTES = 1 << 20  # a card is a few KB of JSON


def read_card(path) -> dict:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            raise DfkdError(f"{path} is {path.stat().st_size:,} bytes; a classifier card is a small JSON file "
                            f"(at most {MAX_CARD_BYTES:,} bytes).")
        card = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DfkdError(f"Could not read the card {path}: {e}. Expected the JSON file written beside the weights.")
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise DfkdError(f"{path} is not a DFKD Studio classifier card (expected \"format\": \"{CARD_FORMAT}\").")
    return card
