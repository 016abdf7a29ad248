"""Using a trained generator: samples for (class, seed) pairs, a summary of the teacher's
verdict on them, an unlabelled grid of images already in class order (the GAN's training
snapshots; judges.grid draws the labelled per-class grid), and saving/loading the generator
(safetensors + JSON card)."""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from dfkd_core.errors import DfkdError
from dfkd_core.io import save_state_dict, write_json
from dfkd_core.store import LabelledBatch

from .models import Generator, GeneratorSpec

FORMAT = "dfkd-generator/1"


def latent(seed: int, z_dim: int) -> torch.Tensor:
    """The generator input of sample `seed` (the same for every class, so seeds compare across classes)."""
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


@torch.no_grad()
def generate(generator: Generator, teacher, targets, seeds, batch_size: int = 250) -> LabelledBatch:
    """Samples of an eval-mode generator (one per (target, seed)) with the teacher's probabilities."""
    device = next(generator.parameters()).device
    generator.eval()
    images, probs = [], []
    targets = torch.as_tensor(list(targets), dtype=torch.long)
    seeds = [int(s) for s in seeds]
    for start in range(0, len(seeds), batch_size):
        z = torch.stack([latent(s, generator.spec.z_dim) for s in seeds[start:start + batch_size]]).to(device)
        x = generator(z, targets[start:start + batch_size].to(device))
        images.append(x.cpu())
        probs.append(teacher.probs(x.to(teacher.device)).cpu())
    return LabelledBatch(torch.cat(images), targets, seeds, torch.cat(probs), "hidfd")


def verdict_summary(batch: LabelledBatch) -> dict:
    """Target rate (teacher argmax == target), mean target probability, mean CE."""
    p = batch.target_prob.clamp(min=1e-12)
    return {"target_rate": round((batch.probs.argmax(1) == batch.targets).float().mean().item(), 4),
            "target_prob": round(p.mean().item(), 4), "teacher_ce": round(-p.log().mean().item(), 4)}


def unlabelled_grid(images: torch.Tensor, rows: int, pad: int = 2) -> torch.Tensor:
    """(N, C, H, W) -> one (C, H', W') image with `rows` rows (row c = class c when grouped),
    filled row by row, no labels (judges.grid_image labels a row per class from the targets)."""
    n, c, h, w = images.shape
    cols = -(-n // rows)
    out = images.new_ones(c, rows * (h + pad) + pad, cols * (w + pad) + pad)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        out[:, pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = img
    return out


def save_generator(stem, generator: Generator, card: dict) -> tuple[Path, Path]:
    """stem.safetensors (weights) and stem.json (the card: architecture, classes, how it was made)."""
    stem = Path(stem)
    weights = stem.with_suffix(".safetensors")
    save_state_dict(weights, generator.state_dict(), metadata={"format": FORMAT})
    full = {"format": FORMAT, "weights": weights.name, "model": generator.card(), **card}
    write_json(stem.with_suffix(".json"), full)
    return weights, stem.with_suffix(".json")


def load_generator(card_path, device="cpu") -> tuple[Generator, dict]:
    card_path = Path(card_path)
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DfkdError(f"Could not read generator card {card_path}: {e}.")
    if card.get("format") != FORMAT:
        raise DfkdError(f"{card_path} is not a generator card (format {card.get('format')!r}, expected {FORMAT}).")
    generator = Generator(GeneratorSpec(**card["model"]))
    try:
        generator.load_state_dict(load_file(str(card_path.parent / card["weights"])))
    except (OSError, RuntimeError) as e:
        raise DfkdError(f"Could not load the generator weights named in {card_path}: {e}.")
    return generator.to(device).eval(), card
