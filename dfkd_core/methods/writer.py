"""The one writer of a source's batches to a store, and what the app and the stages write with it.

write_source is the only loop that writes a source's batches to a store: it skips what the
store already holds (so rerunning resumes), polls should_stop between batches and reports
progress. Whatever the batch size of a resumed run, a sample is made from its own key
only, so it is the same image seed for seed (sources that look at the whole batch, such as
DeepInversion's BN statistics, see the same batches on resume, since batches are cut from
the same plan in the same order). Made is a batch made already as a Source (the app shows
a batch before it is added); add_to_sample_set and write_stage are write_source for a named
sample set and for a pipeline stage's folder.

Overwrite rules: `existing` says what to do with keys the store already holds: "skip"
(resume), "refuse" (the store's clash error: the app's sample sets) or "replace" (DDA's
explicit overwrite)."""

import os

from dfkd_core.errors import Cancelled, DfkdError
from dfkd_core.methods.base import Key, Source
from dfkd_core.paths import sample_set_path
from dfkd_core.runtime import distributed
from dfkd_core.store import LabelledBatch, SampleStore, store_batch

SKIP, REFUSE, REPLACE = "skip", "refuse", "replace"


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
