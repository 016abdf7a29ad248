"""Accuracy of a classifier (a callable from [0, 1] images to logits) on a dataset."""

import torch

from .data.image_dataset import ImageDataset


@torch.no_grad()
def predict(logits_fn, dataset: ImageDataset, batch_size: int = 500, progress=None, device="cpu") -> torch.Tensor:
    """Predicted class per image; progress(done, total) after each batch."""
    preds, done = [], 0
    for x, _ in dataset.batches(batch_size):
        preds.append(logits_fn(x.to(device)).argmax(1).cpu())
        done += len(x)
        if progress:
            progress(done, len(dataset))
    return torch.cat(preds)


def accuracy(logits_fn, dataset: ImageDataset, batch_size: int = 500, progress=None, device="cpu") -> float:
    """Fraction of images classified correctly (pass models in eval mode)."""
    return (predict(logits_fn, dataset, batch_size, progress, device) == dataset.labels).float().mean().item()
