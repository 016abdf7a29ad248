"""Collection (HiDFD): a few real, unlabelled images, labelled by the teacher's argmax.

Sources: 'demo' (the demo task's held-out Fashion-MNIST pool, never seen by the teacher), a
dataset name that dfkd_core.data.load_dataset knows (with a split), an image folder (class
subfolders or flat; any labels it has are only reported, never used), a .zip of images, or
a list of image files. Images are converted to the teacher's channels and input size.
Pick `count` images in total or `per_class` images per teacher-predicted class. The choice
walks a seeded permutation of the source (numpy's default_rng(seed).permutation), so the
same settings pick the same images, and `count` picks exactly the images the pipeline's
`real` stage picks with the same count and seed (KD on those real images alone)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dfkd_core.data.datasets import load_dataset, load_image_folder
from dfkd_core.data.image_dataset import ImageDataset, pick_indices
from dfkd_core.data.uploads import read_image_files, read_zip, to_teacher_format
from dfkd_core.errors import DfkdError
from dfkd_core.store import LabelledBatch

DEMO_DATASET, DEMO_SPLIT = "fashion-mnist", "pool"


@dataclass
class Collection:
    images: ImageDataset  # labels: the teacher's argmax
    probs: torch.Tensor  # (N, K) teacher probabilities
    indices: list  # position of each image in its source
    true_labels: torch.Tensor | None  # the source's own labels when it has them (reported only)
    source: str

    def as_batch(self) -> LabelledBatch:
        """The images with their teacher labels, for a sample store (method 'real')."""
        return LabelledBatch(self.images.images.float().div(255), self.images.labels, self.indices, self.probs, "real")


def collect(teacher, source="demo", split: str | None = None, count: int | None = None,
            per_class: int | None = None, seed: int = 0, root=None, batch_size: int = 500) -> Collection:
    if (count is None) == (per_class is None):
        raise DfkdError("Collect either `count` images in total or `per_class` images per class (not both).")
    if (count if count is not None else per_class) < 1:
        raise DfkdError(f"The number of real images to collect must be at least 1, got {count or per_class}.")
    pool, labelled = read_source(source, split, root, size=teacher.input_size)
    pool = to_teacher_format(pool, teacher.in_channels, teacher.input_size)
    if count is not None:
        if count > len(pool):
            raise DfkdError(f"Asked for {count} real images but {pool.name} holds only {len(pool)}.")
        chosen = torch.tensor(pick_indices(len(pool), count, seed))  # the same images as the `real` stage
        probs = _teacher_probs(teacher, pool.subset(chosen), batch_size)
    else:
        order = torch.from_numpy(np.random.default_rng(seed).permutation(len(pool)))
        chosen, probs = _per_class(teacher, pool, order, per_class, batch_size)
    images = pool.subset(chosen, f"{pool.name} ({len(chosen)} collected, seed {seed})")
    images.labels = probs.argmax(1)
    images.class_names = list(teacher.class_names)
    return Collection(images, probs, chosen.tolist(), pool.labels[chosen] if labelled else None, pool.name)


def class_frequencies(collection: Collection, class_names) -> pd.DataFrame:
    """Per class: how many collected images the teacher assigns to it, their share, the
    teacher's mean confidence on them, and (when the source is labelled) the true count."""
    k = len(class_names)
    pred = collection.images.labels
    counts = torch.bincount(pred, minlength=k)
    conf = collection.probs.max(1).values
    df = pd.DataFrame({"class": list(class_names), "teacher_count": counts.tolist(),
                       "share": [round(c / max(len(pred), 1), 4) for c in counts.tolist()],
                       "mean_confidence": [round(conf[pred == c].mean().item(), 4) if counts[c] else None
                                           for c in range(k)]})
    if collection.true_labels is not None:
        df["true_count"] = torch.bincount(collection.true_labels.clamp(min=0), minlength=k)[:k].tolist()
    return df


def _teacher_probs(teacher, ds: ImageDataset, batch_size: int) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for x, _ in ds.batches(batch_size):
            out.append(teacher.probs(x.to(teacher.device)).cpu())
    return torch.cat(out) if out else torch.empty(0, teacher.num_classes)


def _per_class(teacher, pool, order, per_class, batch_size):
    """Walk the permutation, keep the first per_class images the teacher puts in each class."""
    k = teacher.num_classes
    taken, picked, picked_probs = torch.zeros(k, dtype=torch.long), [], []
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        probs = _teacher_probs(teacher, pool.subset(idx), batch_size)
        for i, p in zip(idx.tolist(), probs):
            c = int(p.argmax())
            if taken[c] < per_class:
                taken[c] += 1
                picked.append(i)
                picked_probs.append(p)
        if bool((taken >= per_class).all()):
            break
    return torch.tensor(picked, dtype=torch.long), torch.stack(picked_probs)


def read_source(source, split=None, root=None, size: int | None = None) -> tuple[ImageDataset, bool]:
    """(images, whether their labels are real labels). Uploaded images (files, a .zip) are
    each resized to `size` (the teacher's input) while read."""
    if isinstance(source, (list, tuple)):
        zips = [p for p in source if str(p).lower().endswith(".zip")]
        if zips and len(source) > 1:
            raise DfkdError("Give one .zip of images, or image files, not both (or several zips).")
        return (read_zip(zips[0], size) if zips else read_image_files(source, size)), False
    text = str(source)
    if text == "demo":
        return load_dataset(DEMO_DATASET, split or DEMO_SPLIT, root=root), True
    path = Path(text)
    if path.suffix.lower() == ".zip":
        return read_zip(path, size), False
    if path.is_dir():
        if any(p.is_dir() for p in path.iterdir()):
            return load_image_folder(path, split), True
        return read_image_files(sorted(p for p in path.iterdir() if p.is_file()), size), False
    if path.exists():
        raise DfkdError(f"{path} is neither a folder nor a .zip of images.")
    return load_dataset(text, split or "train", root=root), True
