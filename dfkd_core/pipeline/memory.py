"""The memory check of the stages that make images (runtime/budget.py), before any model
loads: which settings set how many images a batch holds, and the image size the run's
backbone or teacher declares in files it can read now (their JSON configs and cards, never
their weights; a hub id counts only when already in the local cache). Unknown: 32x32."""

import json
from pathlib import Path

from huggingface_hub import try_to_load_from_cache

from dfkd_core.diffusion.loading import backbone_source
from dfkd_core.errors import DfkdError
from dfkd_core.models.checkpoints import read_card
from dfkd_core.paths import TEACHER
from dfkd_core.runtime import budget
from dfkd_core.teacher.spec import TeacherSpec

MAX_CONFIG = 1 << 20  # a model config is a few KB of JSON


def _config(source: str, name: str) -> dict:
    """A JSON config of a local folder, or of a hub id already in the cache (no download); {} when absent."""
    path = Path(source) / name
    if not path.is_file() and not Path(source).exists():
        try:
            cached = try_to_load_from_cache(source, name)
        except (ImportError, ValueError, OSError):  # not a hub id either (HFValidationError): the default stands
            return {}
        path = Path(cached) if isinstance(cached, str) else path
    try:
        if path.is_file() and path.stat().st_size <= MAX_CONFIG:
            data = json.loads(path.read_text())
            return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        pass
    return {}


def _side(value) -> int | None:
    value = value[0] if isinstance(value, (list, tuple)) and value else value
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def backbone_image(name: str) -> tuple[int, int] | None:
    """(side, channels) of the images a diffusion backbone makes, from its configs; None when unknown."""
    source = backbone_source(name)
    index = _config(source, "model_index.json")
    unet = _config(source, "unet/config.json") or _config(source, "config.json")
    side = _side(unet.get("sample_size"))
    if side is None:
        return None
    decoder = next((k for k in ("vae", "vqvae") if k in index), None)
    if decoder is None:
        return side, int(unet.get("out_channels") or 3)
    vae = _config(source, f"{decoder}/config.json")
    blocks = vae.get("block_out_channels") or [0]
    return side * 2 ** (len(blocks) - 1), int(vae.get("out_channels") or 3)


def teacher_image(spec) -> tuple[int, int] | None:
    """(input side, channels) the teacher declares: in the run config, or in its card."""
    spec = TeacherSpec.from_config(spec)
    card_path = TEACHER if spec.source == "demo" else Path(spec.source)
    card = {}
    if card_path.suffix.lower() == ".json" and card_path.is_file():
        try:
            card = read_card(card_path)
        except DfkdError:
            card = {}  # the teacher's own loading says what is wrong with it
    side = spec.input_size or _side(card.get("input_size"))
    return (side, _side(card.get("in_channels")) or 3) if side else None


def _batch(name: str, s) -> tuple[int, str, str, bool] | None:
    """(images a batch holds at once with a gradient through them, how they were counted, the
    settings to lower, whether they are the backbone's images) for the stages that make
    images; None for the others."""
    if name in ("generate", "unguided"):  # candidate previews go in bounded chunks (candidates.py): not counted
        copies = max(1, s.guidance.copies)
        detail = f"batch_size {s.batch_size}" + (f" x guidance.copies {copies}" if copies > 1 else "")
        return s.batch_size * copies, detail, "batch_size (or guidance.copies)", True
    if name == "augment":
        return s.batch_size, f"batch_size {s.batch_size}", "batch_size", True
    if name == "deepinversion":
        return s.batch_size, f"batch_size {s.batch_size}", "batch_size", False
    if name in ("fast_dfkd", "cmi"):
        n = max(s.synthesis_batch_size, s.batch_size)
        return n, f"the larger of synthesis_batch_size {s.synthesis_batch_size} and batch_size {s.batch_size}", \
            "synthesis_batch_size or batch_size", False
    if name == "hidfd":
        n = max(s.gan.batch_size, s.batch_size)
        return n, f"the larger of gan.batch_size {s.gan.batch_size} and batch_size {s.batch_size}", \
            "gan.batch_size or batch_size", False
    return None


def check_memory(name: str, settings, teacher_spec, where: str):
    """Refuse a stage whose batch would need more memory than budget.memory_limit()."""
    batch = _batch(name, settings)
    if batch is None:
        return
    images, detail, lower, from_backbone = batch
    size = (backbone_image(settings.backbone) if from_backbone else None) or teacher_image(teacher_spec)
    side, channels = size or (budget.DEFAULT_SIDE, 3)
    budget.check_batch(images, side, channels, where, lower, detail)
