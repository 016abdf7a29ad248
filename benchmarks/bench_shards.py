"""Reading WebDataset shards for a distill stage (dfkd_core.data.shard_stream): how long the
check before any work takes, how fast one epoch streams, and the memory it holds, against
loading every sample at once (data.shards.load_shards, what training from one in-memory set
needs).

    python benchmarks/bench_shards.py [--images 20000] [--shard-size 1000] [--shuffle 5000]

The shards hold --images grey 28x28 PNGs (Fashion-MNIST's size; 50 random images repeated)
as `dfkd export --format webdataset` writes them: <key>.png, <key>.cls, <key>.json, and an
info.json with each shard's samples and bytes. Printed: the header scan of every shard (shards
from elsewhere, no info.json) and the check with the export's info.json; one shuffled epoch in
batches of 256 (images/s); the peak memory (ru_maxrss) the epoch added, then what load_shards
added on top."""

import argparse
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_shards(folder: Path, images: int, shard_size: int):
    import webdataset as wds
    from PIL import Image
    rng = np.random.default_rng(0)
    pngs = []
    for _ in range(50):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(buf, format="PNG")
        pngs.append(buf.getvalue())
    samples = {}
    with wds.ShardWriter(str(folder / "shard-%06d.tar"), maxcount=shard_size, verbose=0) as sink:
        for i in range(images):
            sink.write({"__key__": f"s{i}", "png": pngs[i % 50], "cls": i % 10,
                        "json": {"teacher_probs": [0.1] * 10}})
            samples[Path(sink.fname).name] = samples.get(Path(sink.fname).name, 0) + 1
    return samples


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=20_000)
    p.add_argument("--shard-size", type=int, default=1000)
    p.add_argument("--shuffle", type=int, default=5000)
    args = p.parse_args()
    from dfkd_core.data.shard_stream import ShardStream
    from dfkd_core.data.shards import load_shards
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        samples = write_shards(folder, args.images, args.shard_size)
        t = time.perf_counter()
        ShardStream(folder, args.shuffle)
        scan = time.perf_counter() - t
        (folder / "info.json").write_text(json.dumps({"shard_samples": samples, "shard_bytes": {
            name: (folder / name).stat().st_size for name in samples}}))
        t = time.perf_counter()
        stream = ShardStream(folder, args.shuffle)
        with_info = time.perf_counter() - t
        before = peak_mib()
        t = time.perf_counter()
        seen = sum(len(labels) for _, labels in stream.batches(256, shuffle=True))
        epoch = time.perf_counter() - t
        streamed = peak_mib()
        load_shards(folder)
        loaded = peak_mib()
    print(f"{args.images:,} images in {len(samples)} shards of {args.shard_size}, shuffle buffer {args.shuffle:,}")
    print(f"check, every shard's headers: {scan:.2f} s ({args.images / scan:,.0f} samples/s)")
    print(f"check, with the export's info.json: {with_info:.2f} s")
    print(f"one streamed epoch: {epoch:.1f} s ({seen / epoch:,.0f} images/s), peak memory +{streamed - before:.0f} MiB")
    print(f"load_shards (all in memory) on top: peak memory +{loaded - streamed:.0f} MiB")


if __name__ == "__main__":
    main()
