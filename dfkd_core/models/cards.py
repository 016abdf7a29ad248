"""Loading a classifier from its card (NAME.json beside NAME.safetensors), treating the
card as untrusted input (the app loads uploaded ones on a server):

- every size the card declares is checked for type and range, then against the weights
  actually present, before anything is allocated: models are built with the sizes the
  weights hold, so a card cannot make us allocate more than its file does;
- its `weights` field names a file in the card's own folder: absolute paths, `..` and
  links leading out are refused by their shape, before any file is looked at, so the
  message says nothing about files elsewhere."""

import math
from pathlib import Path

from torch import nn

from dfkd_core.errors import DfkdError

from .checkpoints import read_card, read_state_dict, zoo_model_from_state_dict
from .inputs import MAX_CLASSES, MAX_INPUT_SIZE
from .names import canonical_arch
from .simkd import SimKDStudent

MAX_CHANNELS = 64


def card_weights_path(card_path: Path, card: dict) -> Path:
    name = card.get("weights", card_path.with_suffix(".safetensors").name)
    refusal = DfkdError(f"{card_path}: the card's `weights` must be the name of a file in the card's own folder "
                        f"(e.g. \"{card_path.with_suffix('.safetensors').name}\"), got {name!r}.")
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise refusal
    relative = Path(name)
    if relative.is_absolute() or relative.drive or ".." in relative.parts:
        raise refusal
    folder = card_path.parent.resolve()
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder):  # a link that leads out of the folder
        raise refusal
    if target == folder or target.is_dir():  # "." or a subfolder: "does not exist" would mislead
        raise DfkdError(f"{card_path}: the card's `weights` must name a weights file in the card's own folder "
                        f"(e.g. \"{card_path.with_suffix('.safetensors').name}\"); {name!r} names a folder.")
    return card_path.parent / relative


def _whole(card: dict, key: str, low: int, high: int, where: Path, required: bool = True) -> int | None:
    value = card.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DfkdError(f"{where}: the card's `{key}` must be a whole number from {low} to {high}, got {value!r}.")
    return value


def _per_channel(card: dict, key: str, channels: int, where: Path) -> list[float]:
    value = card.get(key)
    ok = isinstance(value, list) and len(value) == channels and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    if not ok or (key == "std" and min(value) <= 0):
        kind = "positive finite numbers" if key == "std" else "finite numbers"
        raise DfkdError(f"{where}: the card's `{key}` must be a list of {channels} {kind} (one per input "
                        f"channel), got {value!r}.")
    return [float(v) for v in value]


def checked_card(card: dict, where: Path) -> dict:
    """The card's fields, type- and range-checked (not yet against the weights)."""
    if not isinstance(card.get("arch"), str):
        raise DfkdError(f"{where}: the card's `arch` must name an architecture, got {card.get('arch')!r}.")
    canonical_arch(card["arch"])
    num_classes = _whole(card, "num_classes", 2, MAX_CLASSES, where)
    channels = _whole(card, "in_channels", 1, MAX_CHANNELS, where)
    size = _whole(card, "input_size", 1, MAX_INPUT_SIZE, where)
    _whole(card, "resize_size", size, MAX_INPUT_SIZE, where, required=False)
    _whole(card, "simkd_teacher_dim", 1, 1 << 20, where, required="simkd_teacher_dim" in card)
    checked = {**card, "mean": _per_channel(card, "mean", channels, where),
               "std": _per_channel(card, "std", channels, where)}
    names = card.get("class_names")
    if names is not None and not (isinstance(names, list) and len(names) == num_classes
                                  and all(isinstance(n, str) and len(n) <= 200 for n in names)):
        raise DfkdError(f"{where}: the card's `class_names` must be {num_classes} names (num_classes), "
                        f"got {str(names)[:200]}.")
    return checked


def _simkd_student(state_dict: dict, card: dict, where: Path) -> SimKDStudent:
    """A SimKD student: backbone + projector + the teacher's classifier, whose feature size
    (`simkd_teacher_dim`) must be the one its weights hold."""
    head = state_dict.get("head.weight")
    if head is None or head.ndim != 2:
        raise DfkdError(f"{where}: the card declares a SimKD student, but its weights hold no shared "
                        "classifier (head.weight).")
    want = (card["num_classes"], card["simkd_teacher_dim"])
    if tuple(head.shape) != want:
        raise DfkdError(f"{where}: the card declares num_classes {want[0]} and simkd_teacher_dim {want[1]}, "
                        f"but the weights' shared classifier (head.weight) is {tuple(head.shape)}.")
    backbone_state = {k[len("backbone."):]: v for k, v in state_dict.items() if k.startswith("backbone.")}
    backbone = zoo_model_from_state_dict(backbone_state, card["arch"], card["num_classes"], card["in_channels"], where)
    student = SimKDStudent(backbone, nn.Linear(head.shape[1], head.shape[0]))
    try:
        student.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        raise DfkdError(f"{where}: the weights do not fit a SimKD student of '{card['arch']}': "
                        f"{str(e).splitlines()[0]}")
    return student.eval()


def load_card_model(card_path) -> tuple[nn.Module, dict]:
    """(model, checked card) of a card file."""
    card_path = Path(card_path)
    card = checked_card(read_card(card_path), card_path)
    state_dict = read_state_dict(card_weights_path(card_path, card))
    if "simkd_teacher_dim" in card:
        return _simkd_student(state_dict, card, card_path), card
    return zoo_model_from_state_dict(state_dict, card["arch"], card["num_classes"], card["in_channels"],
                                     card_path), card
