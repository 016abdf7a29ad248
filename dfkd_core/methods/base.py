"""One interface for every source of training images and one seed plan.

A Source plans the samples it would make as Keys (a seed, the target class when the source
chooses it, and for a DDA variation its source sample and number), and make(keys) turns
keys into a LabelledBatch. The seed plans below are the only place seeds are numbered.
Writing a source's batches to a store is writer.py's (write_source)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch

from dfkd_core.store import LabelledBatch


@dataclass(frozen=True)
class Key:
    """One planned sample. target None: the teacher labels the image once it is made (noise,
    real images). variation > 0: variation `variation` of the stored sample `source_id`."""
    seed: int
    target: int | None = None
    source_id: str | None = None
    variation: int = 0

    @property
    def id(self) -> str | None:
        """The store's id of the sample (None while its target is unknown)."""
        if self.variation:
            return f"{self.source_id}-v{self.variation}"
        return None if self.target is None else f"c{self.target:03d}-s{self.seed}"


# ---- the seed plans: every source plans its seeds with one of these ----


def per_class_plan(classes, per_class: int, num_classes: int, seed: int = 0) -> list[Key]:
    """Class by class (a batch holds same-class partners for Latent CutMix); sample k of
    class c of K has seed `seed + k * K + c`, so no seed is shared across classes (at
    guidance 0 the class changes nothing: a shared seed would repeat one image in every
    class), and a larger per_class keeps the seeds of the samples it already had."""
    return [Key(seed + k * num_classes + c, c) for c in classes for k in range(per_class)]


def flat_plan(count: int, seed: int = 0, targets=None) -> list[Key]:
    """Sample i has seed `seed + i`; its target is targets[i] (None: chosen by the teacher)."""
    return [Key(seed + i, None if targets is None else int(targets[i])) for i in range(count)]


def balanced_plan(num_classes: int, count: int, seed: int = 0) -> list[Key]:
    """`count` samples spread evenly over the classes (the first count % K get one more);
    sample j of every class has seed `seed + j`: a conditional generator's latent depends on
    the seed only, so the same seed compares one latent across classes."""
    return list(balanced_keys(num_classes, count, seed))


def balanced_keys(num_classes: int, count: int, seed: int = 0):
    """balanced_plan one key at a time (a plan of a million samples need not be held)."""
    per, extra = divmod(count, num_classes)
    for c in range(num_classes):
        for j in range(per + (c < extra)):
            yield Key(seed + j, c)


# ---- sources ----


class Source(ABC):
    """A way of making training images, labelled by `teacher`. Subclasses set `method` (as
    the store records it) and implement plan() and make(); settings() is what the store
    keeps once per store, rows() per-sample column values (DDA's ids and strengths)."""
    method = ""

    def __init__(self, teacher):
        self.teacher = teacher

    @abstractmethod
    def plan(self) -> list[Key]:
        """Every key of the job, in the order one process makes them."""

    @abstractmethod
    def make(self, keys: list[Key], should_stop=None) -> LabelledBatch:
        """The batch of `keys` (should_stop polled while it forms)."""

    def settings(self) -> dict:
        return {"class_names": list(self.teacher.class_names)}

    def rows(self, keys: list[Key]) -> list[dict] | None:
        return None

    def stored(self, batch: LabelledBatch):
        """Called once a batch is in the store (the online student learns from it)."""

    @torch.no_grad()
    def label(self, images: torch.Tensor, keys: list[Key]) -> LabelledBatch:
        """The teacher's verdict on images made for `keys`; the target is the key's, or the teacher's argmax."""
        return teacher_verdict(self.teacher, images, keys, self.method)


def teacher_verdict(teacher, images: torch.Tensor, keys: list[Key], method: str) -> LabelledBatch:
    probs = teacher.probs(images.to(teacher.device)).cpu()
    targets = torch.tensor([probs[i].argmax().item() if k.target is None else k.target for i, k in enumerate(keys)])
    return LabelledBatch(images, targets, [k.seed for k in keys], probs, method)


def label_with_teacher(teacher, images: torch.Tensor, seeds, method: str) -> LabelledBatch:
    """Images labelled by the teacher's argmax (samples whose class the teacher decides)."""
    return teacher_verdict(teacher, images, [Key(int(s)) for s in seeds], method)
