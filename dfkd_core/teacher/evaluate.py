"""Accuracy of a classifier (a callable from [0, 1] images to logits) on a dataset."""

import torch

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.runtime.distributed import all_reduce_sum, world


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


def share(n: int, rank: int, processes: int) -> range:
    """Rank's contiguous share of n items: the shares are disjoint, cover all n, and differ
    in size by at most one."""
    return range(n * rank // processes, n * (rank + 1) // processes)


def accuracy_across_ranks(logits_fn, dataset: ImageDataset, batch_size: int = 500, device="cpu") -> float:
    """accuracy() of the whole dataset; under torchrun / accelerate each rank classifies its
    own share and the counts are summed, so every image counts exactly once (every rank must
    call it, and gets the same figure). One process: accuracy() itself."""
    rank, size, _ = world()
    if size == 1:
        return accuracy(logits_fn, dataset, batch_size, device=device)
    mine = dataset.subset(list(share(len(dataset), rank, size)))
    correct = (predict(logits_fn, mine, batch_size, device=device) == mine.labels).sum().item() if len(mine) else 0
    total_correct, total = all_reduce_sum(torch.tensor([correct, len(mine)], dtype=torch.float64)).tolist()
    return total_correct / total
