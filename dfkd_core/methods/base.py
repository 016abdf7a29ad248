"""One interface for every source of training images, one seed plan, one writer.

A Source plans the samples it would make as Keys (a seed, the target class when the source
chooses it, and for a DDA variation its source sample and number), and make(keys) turns
keys into a LabelledBatch. write_source is the only loop that writes a source's batches to
a store: it skips what the store already holds (so rerunning resumes), polls should_stop
between batches and reports progress. Whatever the batch size of a resumed run, a sample
is made from its own key only, so it is the same image seed for seed (sources that look at
the whole batch, such as DeepInversion's BN statistics, see the same batches on resume,
since batches are cut from the same plan in the same order).

Overwrite rules: `existing` says what to do with keys the store already holds: "skip"
(resume), "refuse" (the store's clash error: the app's sample sets) or "replace" (DDA's
explicit overwrite)."""

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch

from dfkd_core.errors import Cancelled, DfkdError
from dfkd_core.paths import sample_set_path
from dfkd_core.runtime import distributed
from dfkd_core.store import LabelledBatch, SampleStore, store_batch

SKIP, REFUSE, REPLACE = "skip", "refuse", "replace"


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


class Made(Source):
    """A batch made already (the app's Samples and HiDFD tabs show a batch before it is added):
    its samples are its keys, make() hands them back."""

    def __init__(self, batch: LabelledBatch, teacher, settings: dict, rows: list[dict] | None = None):
        super().__init__(teacher)
        self.batch, self._settings, self._rows = batch, settings, rows
        self.method = batch.method
        self._index = {}
        for i, (t, s, extra) in enumerate(zip(batch.targets.tolist(), batch.seeds, rows or [{}] * len(batch.seeds))):
            key = Key(int(s), int(t), extra.get("source_id"), int(extra.get("variation", 0)))
            if key in self._index:
                raise DfkdError(f"The batch holds sample {key.id} twice; each sample must be distinct.")
            self._index[key] = i

    def plan(self) -> list[Key]:
        return list(self._index)

    def make(self, keys, should_stop=None) -> LabelledBatch:
        rows = [self._index[k] for k in keys]
        b = self.batch
        return LabelledBatch(b.images[rows], b.targets[rows], [b.seeds[i] for i in rows], b.probs[rows], b.method,
                             [b.records[i] for i in rows] if b.records else [])

    def settings(self) -> dict:
        return self._settings

    def rows(self, keys) -> list[dict] | None:
        return None if self._rows is None else [self._rows[self._index[k]] for k in keys]


def teacher_verdict(teacher, images: torch.Tensor, keys: list[Key], method: str) -> LabelledBatch:
    probs = teacher.probs(images.to(teacher.device)).cpu()
    targets = torch.tensor([probs[i].argmax().item() if k.target is None else k.target for i, k in enumerate(keys)])
    return LabelledBatch(images, targets, [k.seed for k in keys], probs, method)


def label_with_teacher(teacher, images: torch.Tensor, seeds, method: str) -> LabelledBatch:
    """Images labelled by the teacher's argmax (samples whose class the teacher decides)."""
    return teacher_verdict(teacher, images, [Key(int(s)) for s in seeds], method)


# ---- the writer ----


def missing(store: SampleStore, keys: list[Key]) -> list[Key]:
    """The keys the store does not hold yet, in plan order."""
    df = store.manifest()
    plain = df[df["variation"] == 0]
    pairs = set(zip(plain["target"].astype(int), plain["seed"].astype(int)))
    seeds, ids = set(plain["seed"].astype(int)), set(df["id"])

    def held(k: Key) -> bool:
        if k.variation:
            return k.id in ids
        return k.seed in seeds if k.target is None else (k.target, k.seed) in pairs
    return [k for k in keys if not held(k)]


def share(todo: list[Key], batch_size: int, rank: int = 0, world_size: int = 1) -> list[list[Key]]:
    """Rank `rank`'s batches of `todo`: todo is cut into the batches one process would make
    (batch_size keys, in plan order), and the ranks take every world_size-th batch. Split by
    batch, not by key, so each batch is the one a single process makes: Latent CutMix pairs
    partners within a batch, the BN-statistics loss and DeepInversion look at the whole
    batch, and even per-sample sources round floats by batch size. All ranks compute the
    same todo (from the store as it was before any of them wrote), so the shares are
    disjoint and cover todo; a rerun with another world size splits what is missing then."""
    batches = [todo[s:s + batch_size] for s in range(0, len(todo), batch_size)]
    return batches[rank::world_size]


def _rows_now(store: SampleStore) -> int:
    """Rows in the store's file (all ranks' writes so far), without parsing it."""
    path = store.manifest_path
    return max(path.read_bytes().count(b"\n") - 1, 0) if path.exists() else 0


def _die_if_asked(rank: int, made: int):
    """Fault injection for the tests of resuming a run whose rank died: DFKD_DIE_AFTER=RANK:N
    ends rank RANK at once (no cleanup, as a killed process) after it stored N batches."""
    spec = os.environ.get("DFKD_DIE_AFTER", "")
    if spec and spec.split(":") == [str(rank), str(made)]:
        os._exit(17)


def write_source(source: Source, store: SampleStore, keys: list[Key], batch_size: int, progress=None,
                 should_stop=None, existing: str = SKIP) -> int:
    """Make `keys` with `source` and add them to `store`, batch by batch; returns how many
    were made. progress(done, total) after each batch; should_stop() is polled after a
    batch is made and before it is stored (a source stopped inside a batch may hand back
    an unfinished one): then Cancelled, and a rerun makes exactly the missing keys.

    Under torchrun / accelerate launch (WORLD_SIZE > 1) every rank calls this with the same
    keys; each makes its share() and writes it to the same store (the store's lock keeps the
    writes apart), progress is reported on rank 0 for the whole job (the store's row count),
    and all ranks return once the store holds every key."""
    if existing not in (SKIP, REFUSE, REPLACE):
        raise DfkdError(f"existing must be one of {SKIP}, {REFUSE}, {REPLACE}; got {existing!r}.")
    if batch_size < 1:
        raise DfkdError(f"batch_size must be at least 1, got {batch_size}.")
    rank, size, _ = distributed.world()
    keys = list(keys)
    todo = missing(store, keys) if existing == SKIP else keys
    before, total = len(keys) - len(todo), len(keys)
    if size > 1:
        rows_before = _rows_now(store)
        distributed.barrier()  # every rank has read the store before any writes to it
    made = 0
    for i, chunk in enumerate(share(todo, batch_size, rank, size)):
        batch = source.make(chunk, should_stop)
        if should_stop and should_stop():
            raise Cancelled(f"cancelled after {before + made} of {total} images")
        store_batch(store, batch, source.teacher, source.settings(), source.rows(chunk), replace=existing == REPLACE)
        source.stored(batch)
        made += len(chunk)
        _die_if_asked(rank, i + 1)
        if progress and rank == 0:
            done = before + (made if size == 1 else min(len(todo), _rows_now(store) - rows_before))
            progress(done, total)
    if size > 1:
        distributed.barrier()  # the store is whole on every rank from here on
        if progress and rank == 0:
            progress(total, total)
    return len(todo)


def add_to_sample_set(name: str, batch, teacher, settings: dict, root=None) -> SampleStore:
    """Add a batch to the set `name`; samples it already holds (same class and seed) are
    refused, never replaced: the DfkdError names them and the next unused seed."""
    store = SampleStore(sample_set_path(name, root))
    source = Made(batch, teacher, settings)
    keys = source.plan()
    write_source(source, store, keys, max(len(keys), 1), existing=REFUSE)  # all or nothing
    return store


def write_stage(ctx, source, keys, batch_size: int = 256) -> SampleStore:
    """Write `source`'s keys to the stage folder's store (write_source: resumes, polls
    ctx.should_stop); a complete store becomes the run's current one (ctx: pipeline.run.RunContext)."""
    store = SampleStore(ctx.stage_dir)
    write_source(source, store, keys, batch_size, progress=lambda done, total: ctx.progress(ctx.stage_label, done, total),
                 should_stop=ctx.should_stop)
    ctx.store = store
    ctx.results["images"] = len(store.manifest())
    return store
