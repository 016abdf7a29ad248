"""WebDataset shards as the training set of a distill stage (the `shards` stage): the student
learns from them batch by batch, and no more than a bounded shuffle buffer of samples is in
memory at once, however many millions the shards hold.

Before any work, every shard's headers (not its images) are read: each sample must hold a
<key>.png and a <key>.cls, and the counts fix an epoch's length (an export's info.json gives the
counts instead, for shards of the sizes it records: then only the first shard's headers are read,
and the others' fields are checked as they stream). One process reads every
shard, in an order shuffled per epoch, through a buffer of `shuffle` samples. Under torchrun /
accelerate the shards are dealt to the ranks once (largest first, each to the rank with the
fewest samples so far) and each rank reads only its own, so no sample is read twice in an
epoch. DDP needs as many steps on every rank: each makes as many as the smallest share fills,
and a larger share leaves its surplus out of that epoch (other samples each epoch, as the order
is reshuffled). Fewer shards than ranks is refused."""

import random
import re
import tarfile
from pathlib import Path

import torch

from dfkd_core.errors import DfkdError
from dfkd_core.runtime.distributed import world

from .shards import export_classes, json_object, read_samples, shard_files

NEEDED = ("png", "cls")
MAX_MEMBER = 64 * 2**20  # bytes of one member: a training image's PNG is far smaller
MAX_SHUFFLE = 100_000
DEFAULT_SHUFFLE = 5_000
_META = re.compile(r"__[^/]*__($|/)")  # webdataset skips these members (tar_file_iterator)


def _keys_and_suffixes(tar: tarfile.TarFile, path: str):
    """(key, suffix) of each member webdataset would read, from the headers alone."""
    from webdataset.tariterators import base_plus_ext  # heavy: keeps webdataset off importing data.shard_stream
    for member in iter(tar.next, None):
        tar.members = []  # keep no headers: a shard may hold 100,000 samples
        if not member.isreg() or _META.match(member.name):
            continue
        if member.size > MAX_MEMBER:
            raise DfkdError(f"{path}: member {member.name} declares {member.size:,} bytes (at most "
                            f"{MAX_MEMBER:,}); it is not a training image.")
        key, suffix = base_plus_ext(member.name)
        if key is not None:
            yield key, suffix.lower()


def count_samples(path: str) -> int:
    """The samples of one shard, each checked to hold the NEEDED members (webdataset groups
    consecutive members of one key into a sample)."""
    count, key, suffixes = 0, None, set()

    def close():
        missing = [s for s in NEEDED if s not in suffixes]
        if missing:
            raise DfkdError(f"{path}: sample '{key}' has no .{' or .'.join(missing)} member. Each sample of a "
                            "shard needs <key>.png (the image) and <key>.cls (its label), as `dfkd export STORE "
                            "--format webdataset` writes them.")

    try:
        with tarfile.open(path, "r:") as tar:  # .tar, as webdataset and `dfkd export` write them
            for name, suffix in _keys_and_suffixes(tar, path):
                if name != key:
                    if key is not None:
                        close()
                        count += 1
                    key, suffixes = name, set()
                suffixes.add(suffix)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DfkdError(f"{path}: not a readable tar shard ({e}).") from None
    if key is not None:
        close()
        count += 1
    return count


def shard_counts(files: list[str]) -> list[int]:
    """Samples per shard: from the export's info.json when it describes these very files (names
    and byte sizes; the first shard's headers are still checked), else from every shard's headers."""
    info_path = Path(files[0]).parent / "info.json"
    info = {}
    if info_path.is_file() and info_path.stat().st_size <= MAX_MEMBER:
        info = json_object(info_path.read_bytes(), str(info_path))
    samples, sizes = info.get("shard_samples"), info.get("shard_bytes")
    names = [Path(f).name for f in files]
    if isinstance(samples, dict) and isinstance(sizes, dict) and all(
            isinstance(samples.get(n), int) and samples[n] >= 0 and sizes.get(n) == Path(f).stat().st_size
            for n, f in zip(names, files)):
        if count_samples(files[0]) == samples[names[0]]:
            return [samples[n] for n in names]
    return [count_samples(f) for f in files]


def deal(counts: list[int], ranks: int) -> list[list[int]]:
    """Shard indices per rank: largest shard first, each to the rank with the fewest samples."""
    shares, totals = [[] for _ in range(ranks)], [0] * ranks
    for i in sorted(range(len(counts)), key=lambda i: (-counts[i], i)):
        r = min(range(ranks), key=lambda r: (totals[r], r))
        shares[r].append(i)
        totals[r] += counts[i]
    return [sorted(s) for s in shares]


class ShardStream:
    """len() and batches() as ImageDataset's, for fit(): float images in [0, 1], labels."""

    def __init__(self, source, shuffle: int = DEFAULT_SHUFFLE, classes: int | None = None):
        """classes: labels must be below it (default: the class count of the export's info.json)."""
        if not isinstance(shuffle, int) or not 0 <= shuffle <= MAX_SHUFFLE:
            raise DfkdError(f"shuffle (the buffer, in samples) must be a whole number from 0 to {MAX_SHUFFLE:,}, "
                            f"got {shuffle!r}.")
        path = Path(source)
        if not path.is_dir():
            raise DfkdError(f"No folder at '{source}': expected the folder of `dfkd export STORE --format "
                            "webdataset --out DIR` (its shard-*.tar).")
        self.root, self.shuffle = path, shuffle
        self.files = shard_files(path)
        self.classes = classes or export_classes(self.files[0])
        self.counts = shard_counts(self.files)
        if not sum(self.counts):
            raise DfkdError(f"No samples in the shards at '{source}'.")
        self.name = f"shards {path}"

    def __len__(self) -> int:
        return sum(self.counts)

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None):
        """Every shard's samples (one process); the order is drawn from `generator`, which
        fit() checkpoints, so a resumed epoch sees the same batches."""
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=generator))) if shuffle else None
        yield from self._batches(range(len(self.files)), batch_size, rng)

    def rank_share(self, seed: int) -> "RankShare":
        return RankShare(self, seed)

    def _batches(self, indices, batch: int, rng, steps: int | None = None):
        order = list(indices)
        if rng is not None:
            rng.shuffle(order)
        images, labels, made = [], [], 0
        for image, label, _ in read_samples([self.files[i] for i in order], self.shuffle if rng else 0, rng,
                                            self.classes):
            if images and image.shape != images[0].shape:
                raise DfkdError(f"'{self.root}': images of sizes {tuple(images[0].shape)} and {tuple(image.shape)};"
                                " one training set holds images of one size.")
            images.append(image)
            labels.append(label)
            if len(images) == batch:
                yield torch.stack(images).float().div_(255), torch.tensor(labels)
                images, labels, made = [], [], made + 1
                if made == steps:
                    return
        if images:
            yield torch.stack(images).float().div_(255), torch.tensor(labels)
            made += 1
        if steps is not None and made < steps:
            raise DfkdError(f"'{self.root}' changed while training ({made} of {steps} batches read); "
                            "leave the shards alone during a run.")


class RankShare:
    """This rank's shards under DDP, for fit() (data_parallel.rank_sampler / rank_batches):
    num_samples fixes the steps of an epoch, the same on every rank."""

    def __init__(self, stream: ShardStream, seed: int):
        self.rank, size, _ = world()
        if len(stream.files) < size:
            raise DfkdError(f"'{stream.root}' holds {len(stream.files)} shard(s) for {size} processes; each process "
                            f"reads shards of its own. Export again with a --shard-size small enough for at least "
                            f"{size} shards (e.g. {max(1, len(stream) // size)}).")
        shares = deal(stream.counts, size)
        self.totals = [sum(stream.counts[i] for i in share) for share in shares]
        if min(self.totals) == 0:
            raise DfkdError(f"'{stream.root}': some of the {size} processes would get only empty shards.")
        self.stream, self.seed, self.mine = stream, seed, shares[self.rank]
        self.num_samples = min(self.totals)

    def used_per_epoch(self, batch: int) -> int:
        """Samples all ranks train on in one epoch (a larger share's surplus is left out)."""
        steps = -(-self.num_samples // batch)
        return sum(min(total, steps * batch) for total in self.totals)

    def batches(self, epoch: int, batch: int):
        rng = random.Random(f"{self.seed}/{epoch}/{self.rank}")  # a resumed epoch draws the same order
        yield from self.stream._batches(self.mine, batch, rng, steps=-(-self.num_samples // batch))
