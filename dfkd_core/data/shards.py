"""Training images streamed from WebDataset shards (`dfkd export STORE --format webdataset`),
so a store of millions of images never needs one manifest, or all its images, in memory.

ShardDataset is a torch IterableDataset of (image uint8 (C, H, W), label, teacher probs):
the shards are dealt out to the processes of a launched run (torchrun / accelerate: rank r
of W) and to the DataLoader workers of each, shard i to consumer i mod (W * workers), so
every sample is read by exactly one of them per pass (the ranks' shares may differ in size;
shard_stream.ShardStream, which distill trains from, evens out the steps for DDP).
load_shards() reads them all into an ImageDataset, for the trainers that take one."""

import glob
import io
import json
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from dfkd_core.errors import DfkdError
from dfkd_core.runtime.distributed import world

from .image_dataset import ImageDataset

MAX_SIDE = 4096  # training images; anything larger is not one of ours
MODES = {"L": 1, "RGB": 3}


def shard_files(source) -> list[str]:
    """The .tar shards of `source`: a folder (an export), or a glob such as DIR/*.tar."""
    path = Path(source)
    files = sorted(glob.glob(str(path / "*.tar"))) if path.is_dir() else sorted(glob.glob(str(source)))
    if not files:
        raise DfkdError(f"No WebDataset shards (.tar) at '{source}': expected the folder of `dfkd export STORE "
                        "--format webdataset --out DIR`, or a pattern such as DIR/*.tar.")
    return files


def decode_png(data: bytes, where: str) -> torch.Tensor:
    """(C, H, W) uint8 of one PNG, checked (size, mode) before it is decoded."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG" or max(im.size) > MAX_SIDE or im.mode not in MODES:
                raise DfkdError(f"{where}: not a grey or RGB PNG of at most {MAX_SIDE} pixels a side "
                                f"({im.format}, {im.mode}, {im.size[0]}x{im.size[1]}).")
            array = np.asarray(im)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DfkdError(f"{where}: not a readable PNG ({e}).") from None
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


class ShardDataset(IterableDataset):
    """Samples of WebDataset shards, in shard order (shuffle: a buffer of `shuffle` samples,
    reshuffled per set_epoch), each consumer its own shards (split). Each yields (image uint8 (C, H, W), label, probs float32 (K,))."""

    def __init__(self, source, shuffle: int = 0, seed: int = 0, split: bool = True, classes: int | None = None):
        self.files = shard_files(source)
        self.shuffle, self.seed, self.epoch, self.split = int(shuffle), int(seed), 0, split
        self.classes = classes or export_classes(self.files[0])

    def set_epoch(self, epoch: int):
        self.epoch = int(epoch)

    def my_files(self) -> list[str]:
        """This consumer's shards: rank r of W, DataLoader worker w of n, shard i mod W*n
        (split False: every shard)."""
        if not self.split:
            return self.files
        rank, size, _ = world()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        me, consumers = rank * workers + worker, size * workers
        return self.files[me::consumers]

    def __iter__(self):
        mine = self.my_files()
        yield from read_samples(mine, self.shuffle, _rng(self.seed, self.epoch) if self.shuffle else None,
                                self.classes)


def export_classes(shard: str) -> int | None:
    """The class count of the export a shard belongs to (its folder's info.json), if it says."""
    info = Path(shard).parent / "info.json"
    if not info.is_file() or info.stat().st_size > 2**26:
        return None
    names = json_object(info.read_bytes(), str(info)).get("class_names")
    return len(names) if isinstance(names, list) and names else None


def read_samples(files: list[str], shuffle: int = 0, rng=None, classes: int | None = None):
    """(image uint8 (C, H, W), label, teacher probs) of each sample of `files`, in order, or
    through a buffer of `shuffle` samples drawn by `rng` (a random.Random). The split between
    processes is the caller's: webdataset's own node and worker splitters are off. A label
    that is negative or, with `classes`, not below it is refused with the shard and key."""
    import webdataset as wds  # heavy: keeps webdataset off importing data.shards
    if not files:
        return
    pipeline = wds.WebDataset(files, shardshuffle=False, nodesplitter=None, workersplitter=None, empty_check=False)
    if shuffle:
        pipeline = pipeline.shuffle(shuffle, rng=rng)
    for sample in pipeline:
        where = f"{sample.get('__url__', '?')}: sample {sample.get('__key__', '?')}"
        if "png" not in sample or "cls" not in sample:
            raise DfkdError(f"{where} lacks its .png or .cls member; export the store again.")
        meta = json_object(sample.get("json"), where)
        probs = torch.tensor(meta.get("teacher_probs", []), dtype=torch.float32)
        yield decode_png(sample["png"], where), _label(sample["cls"], where, classes), probs


def _label(data: bytes, where: str, classes: int | None) -> int:
    try:
        label = int(data)
    except ValueError:
        raise DfkdError(f"{where}: its .cls is not a whole number ({data[:20]!r}).") from None
    if label < 0 or (classes is not None and label >= classes):
        known = f"one of the {classes} classes (0 to {classes - 1})" if classes else "a class index (0 or more)"
        raise DfkdError(f"{where}: its .cls is {label}, expected {known}. The shard is damaged or from another "
                        "task: export the store again, or leave that shard out.")
    return label


def _rng(seed: int, epoch: int):
    return random.Random(seed * 1_000_003 + epoch)


def json_object(data, where: str) -> dict:
    if data is None:
        return {}
    try:
        meta = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise DfkdError(f"{where}: its .json is not readable ({e}).") from None
    return meta if isinstance(meta, dict) else {}


def load_shards(source, class_names=None, max_images: int = 5_000_000) -> ImageDataset:
    """Every sample of the shards as an in-memory ImageDataset (images uint8, labels), for
    trainers that take one; beyond max_images it refuses (stream ShardDataset instead).
    class_names: default, the names in the export's info.json."""
    files = shard_files(source)
    if class_names is None:
        info = Path(files[0]).parent / "info.json"
        class_names = json_object(info.read_bytes(), str(info)).get("class_names", []) if info.exists() else []
    images, labels = [], []
    for image, label, _ in ShardDataset(source, split=False, classes=len(class_names) or None):
        if len(images) >= max_images:
            raise DfkdError(f"'{source}' holds more than {max_images:,} images; stream them with ShardDataset.")
        if images and image.shape != images[0].shape:
            raise DfkdError(f"'{source}': images of sizes {tuple(images[0].shape)} and {tuple(image.shape)}; "
                            "one training set holds images of one size.")
        images.append(image)
        labels.append(label)
    if not images:
        raise DfkdError(f"No samples in the shards at '{source}'.")
    return ImageDataset(torch.stack(images), torch.tensor(labels, dtype=torch.long), list(class_names),
                        str(source))

