"""Within-class diversity: the mean pixel distance between two images of the same class,
divided by the same figure for real images of that class. About 1 means real-like spread;
well below 1, the samples of a class repeat one look (mode collapse); above 1 is not better:
noise and textures are "diverse" too, so read it beside the other judges."""

import torch

from .pixels import as_vectors

MAX_PER_CLASS = 500  # pairs grow quadratically; a fixed, evenly spaced subset bounds the cost


def _spread(vectors: torch.Tensor) -> float:
    if len(vectors) > MAX_PER_CLASS:
        vectors = vectors[torch.linspace(0, len(vectors) - 1, MAX_PER_CLASS).long()]
    return float(torch.pdist(vectors).mean())


def class_spreads(images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(K,) mean pairwise L2 pixel distance within each class; NaN where fewer than 2 images."""
    vectors = as_vectors(images)
    out = torch.full((num_classes,), float("nan"))
    for c in range(num_classes):
        members = vectors[labels == c]
        if len(members) >= 2:
            out[c] = _spread(members)
    return out


def relative_diversity(images, targets, real_spreads: torch.Tensor) -> dict:
    """{'relative': mean over classes of sample spread / real spread, 'per_class': [...]}."""
    ratios = class_spreads(images, targets, len(real_spreads)) / real_spreads
    measured = ratios[~ratios.isnan()]
    return {"relative": round(float(measured.mean()), 4) if len(measured) else None,
            "per_class": [None if r != r else round(float(r), 4) for r in ratios.tolist()]}
