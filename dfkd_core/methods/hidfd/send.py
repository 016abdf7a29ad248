"""What the app and its API ask of HiDFD beyond training: the folder a GAN trained from the
app goes to, and writing a trained generator's samples (and the few real images it learnt
from) to named sample sets. Names, seeds and the overwrite rule are decided here: samples
are planned with balanced_chunks (sample j of every class has seed j), added all or nothing
per chunk, and a set that already holds a (class, seed) refuses it, never replaces it."""

import time
import uuid
from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.methods.writer import add_to_sample_set
from dfkd_core.paths import checked_name, runs_dir, sample_set_path
from dfkd_core.store import SampleStore

from .job import MAX_SAMPLES, balanced_chunks
from .sample import generate, verdict_summary

APP_RUNS = "hidfd-app"
REAL_SUFFIX = "-real"


def fresh_gan_folder() -> Path:
    """A new folder for a GAN trained from the app: runs/hidfd-app/<time>-<random>, so two
    visitors training at the same second never share one."""
    return runs_dir() / APP_RUNS / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def real_set_name(name: str) -> str:
    """The set the collected real images go to beside `name`'s samples (for data inflation)."""
    return checked_name(f"{checked_name(name)[:64 - len(REAL_SUFFIX)]}{REAL_SUFFIX}")


def send_samples(generator, teacher, name: str, count: int, gan_folder: str, steps: int, real=None,
                 should_stop=None, progress=None) -> dict:
    """Add `count` samples of a trained (eval-mode) generator to sample set `name`, chunk by
    chunk (bounded memory); with `real` (the collection it was trained on), the real images
    too, to real_set_name(name). should_stop() is polled between chunks: then the result says
    how many were added ("cancelled": True). Sending again with the same name and the same GAN
    adds only what is missing; a (class, seed) the set holds from anything else is refused.
    progress(done, count) after each chunk.

    Returns {"sent", "made", "count", "target_rate", "set", "set_size", "real_set",
    "real_count", "cancelled"}: target_rate over the samples made now (None when none was)."""
    checked_name(name)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SAMPLES:
        raise DfkdError(f"The number of samples must be a whole number from 1 to {MAX_SAMPLES:,}, got {count!r}.")
    names = teacher.class_names
    settings = {"method": "hidfd", "class_names": names, "gan_run": str(gan_folder), "steps": int(steps)}
    done, made, hits = 0, 0, 0.0
    held = _made_by(sample_set_path(name), str(gan_folder))
    for targets, seeds in balanced_chunks(len(names), count):
        if should_stop and should_stop():
            return _result(name, done, made, count, hits, None, True)
        todo = [(t, s) for t, s in zip(targets, seeds) if (t, s) not in held]
        if todo:
            batch = generate(generator, teacher, [t for t, _ in todo], [s for _, s in todo])
            add_to_sample_set(name, batch, teacher, settings)
            made, hits = made + len(todo), hits + verdict_summary(batch)["target_rate"] * len(todo)
        done += len(targets)
        if progress:
            progress(done, count)
    real_store = None
    if real is not None:
        batch, real_store = real.as_batch(), SampleStore(sample_set_path(real_set_name(name)))
        if not set(zip(batch.targets.tolist(), map(int, batch.seeds))) <= real_store.existing_keys():  # a resend
            add_to_sample_set(real_set_name(name), batch, teacher,
                              {"method": "real", "class_names": names, "source": real.source})
    return _result(name, done, made, count, hits, real_store, False)


def _made_by(path: Path, gan_folder: str) -> set:
    """(class, seed) pairs the set at `path` holds from this GAN run."""
    store = SampleStore(path)
    if not store.exists():
        return set()
    ours = {sid for sid, s in store.settings().items() if s.get("gan_run") == gan_folder}
    df = store.manifest()
    df = df[df["settings_id"].isin(ours)]
    return set(zip(df["target"].astype(int), df["seed"].astype(int)))


def _result(name, done, made, count, hits, real_store, cancelled) -> dict:
    store = SampleStore(sample_set_path(name))
    return {"sent": done, "made": made, "count": count, "target_rate": hits / made if made else None,
            "set": str(store.root), "set_size": len(store.manifest()) if store.exists() else 0,
            "real_set": str(real_store.root) if real_store else None,
            "real_count": len(real_store.manifest()) if real_store else 0, "cancelled": cancelled}
