"""What appending a batch to a sample store costs as the store grows: a store of 50,000
samples against one of 1,000, in one run (target: ratio <= 1.5, i.e. the cost does not
grow with the store).

    python benchmarks/bench_store.py [--big 50000] [--small 1000] [--batch 16] [--repeats 9]

Appending = dfkd_core.store.store_batch, as `dfkd generate` does after every batch: the
images, their rows in metadata.csv, and the teacher's outputs into the feature cache.
Both stores are built directly (rows written in one go, one tiny PNG hard-linked for
every sample, the feature cache as one compacted shard), so the big one takes seconds and
a few tens of MB; everything is deleted at the end. Timings alternate between the two
stores, and the median of the repeats is reported."""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.models.zoo import build_model  # noqa: E402
from dfkd_core.store import (
    LabelledBatch,
    SampleStore,
    features,
    rows,  # noqa: E402
    store_batch,
)
from dfkd_core.store.images import encode_png  # noqa: E402
from dfkd_core.teacher.model import Teacher  # noqa: E402

NAMES = [f"class{k}" for k in range(10)]
SIZE = 8  # pixels a side: the cost measured is the store's, not PNG encoding's


def small_teacher() -> Teacher:
    torch.manual_seed(0)
    return Teacher(build_model("small_cnn", len(NAMES), 1), len(NAMES), 1, 32, [0.5], [0.25], NAMES)


def build_store(root: Path, n: int, teacher, settings: dict) -> SampleStore:
    """n samples written directly: what n / batch appends would have left, minus the wait."""
    store = SampleStore(root)
    store.images_dir.mkdir(parents=True)
    png = root / "one.png"
    png.write_bytes(encode_png(np.full((SIZE, SIZE), 128, dtype=np.uint8)))
    targets, seeds = np.arange(n) % len(NAMES), np.arange(n)
    ids = [f"c{t:03d}-s{s}" for t, s in zip(targets, seeds)]
    for i in ids:
        os.link(png, store.images_dir / f"{i}.png")  # one inode: 50,000 samples in a few MB
    sid = rows.register_settings(root, [settings])[0]
    probs = ";".join(["0.10000"] * len(NAMES))
    lines = [",".join(rows.STORED)] + [
        f"images/{i}.png,{i},{t},{NAMES[t]},{s},test,0.1,{t},{probs},[],{sid},2026-01-01T00:00:00,{i},0,0.0"
        for i, t, s in zip(ids, targets, seeds)]
    (root / rows.ROWS).write_text("\n".join(lines) + "\n")
    out = features.teacher_outputs(teacher, store.read_files(["one.png"]))
    cache = features.teacher_cache(root / "embeddings", teacher)
    arrays = {k: np.repeat(v, n, axis=0) for k, v in out.items()}
    features.write_shard(cache, ids, features.stamps(root, [f"images/{i}.png" for i in ids]), arrays)
    return store


def new_batch(batch: int, first_seed: int) -> LabelledBatch:
    gen = torch.Generator().manual_seed(first_seed)
    targets = torch.arange(batch) % len(NAMES)
    return LabelledBatch(torch.rand(batch, 1, SIZE, SIZE, generator=gen), targets,
                         list(range(first_seed, first_seed + batch)), torch.full((batch, len(NAMES)), 0.1), "test")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--big", type=int, default=50_000)
    p.add_argument("--small", type=int, default=1_000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=9)
    args = p.parse_args()
    torch.set_num_threads(1)
    teacher = small_teacher()
    settings = {"class_names": NAMES, "note": "x" * 400}  # as long as a real run's settings
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        stores, built = {}, {}
        for name, n in (("small", args.small), ("big", args.big)):
            start = time.perf_counter()
            stores[name] = build_store(Path(tmp) / name, n, teacher, settings)
            built[name] = time.perf_counter() - start
        costs = {"small": [], "big": []}
        for r in range(args.repeats):
            for name in ("small", "big"):  # alternating, so load on the machine hits both alike
                batch = new_batch(args.batch, 10_000_000 + r * args.batch)
                start = time.perf_counter()
                store_batch(stores[name], batch, teacher, settings)
                costs[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        total = len(stores["big"].manifest())
        read_s = time.perf_counter() - start
        assert total == args.big + args.repeats * args.batch, total
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2 ** 20
    small, big = (statistics.median(costs[k]) * 1000 for k in ("small", "big"))
    print(f"store built directly: {args.small:,} samples in {built['small']:.1f} s, {args.big:,} in "
          f"{built['big']:.1f} s ({disk:.0f} MB on disk, deleted)")
    print(f"append a batch of {args.batch} (images, rows, feature shard), median of {args.repeats}:")
    print(f"  store of {args.small:>7,}: {small:7.1f} ms")
    print(f"  store of {args.big:>7,}: {big:7.1f} ms")
    print(f"  ratio big / small: {big / small:.2f} (target <= 1.5)")
    print(f"reading every row of the big store once (checked): {read_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
