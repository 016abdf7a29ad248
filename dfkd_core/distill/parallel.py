"""What fit() needs to train one model over several processes (torchrun, `accelerate
launch`): the model in DDP, each rank's share of every global batch, and one set of
BatchNorm statistics (flags, sums and each rank's random state go through
runtime.distributed). With one process every function is a no-op (or the single-process
value), so one-process runs are unchanged.

The global batch is the config's batch_size, as in one process: each of the W ranks draws
batch_size / W images of it (a batch size W does not divide is refused). DDP averages the
ranks' gradients, so one step is one step of SGD on the global batch."""

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.errors import DfkdError
from dfkd_core.runtime.distributed import init_if_needed, world

RANK_SEED_STRIDE = 1_000_003  # rank r augments with seed + r * stride: its own draws; rank 0 keeps the seed


def per_rank_batch(batch_size: int, processes: int) -> int:
    if batch_size % processes:
        raise DfkdError(f"batch_size {batch_size} is the global batch, shared by {processes} processes: it must "
                        f"be a multiple of {processes} (e.g. {batch_size - batch_size % processes or processes}).")
    return batch_size // processes


def wrap(model, device: str):
    """The model in DistributedDataParallel when there are several processes, else itself."""
    if world()[1] == 1:
        return model
    device = init_if_needed(device)
    model.to(device, memory_format=torch.channels_last)  # before DDP: it broadcasts rank 0's weights
    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model):
    return model.module if isinstance(model, DistributedDataParallel) else model


def rank_sampler(train_set: ImageDataset, seed: int) -> DistributedSampler:
    """Every rank shuffles the same permutation (seed + epoch: set_epoch) and takes every W-th
    image; the share is padded with the first images so all ranks make the same number of steps.
    A streamed set (data.shard_stream: WebDataset shards) deals its shards to the ranks itself."""
    if hasattr(train_set, "rank_share"):
        return train_set.rank_share(seed)
    rank, size, _ = world()
    return DistributedSampler(range(len(train_set)), num_replicas=size, rank=rank, shuffle=True, seed=seed)


def rank_batches(train_set: ImageDataset, sampler: DistributedSampler, epoch: int, batch: int):
    """This rank's batches of the epoch, as ImageDataset.batches yields them."""
    if not isinstance(sampler, DistributedSampler):  # a streamed set's share (rank_sampler)
        yield from sampler.batches(epoch, batch)
        return
    sampler.set_epoch(epoch)
    order = torch.tensor(list(sampler), dtype=torch.long)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        yield train_set.images[idx].float().div_(255), train_set.labels[idx]


def average_buffers(model):
    """BatchNorm statistics averaged over the ranks (each updated them from its own share),
    so every rank evaluates, checkpoints and continues with the same model."""
    if world()[1] == 1:
        return
    from accelerate.utils import reduce  # heavy: keeps accelerate off importing distill.parallel
    for buf in model.buffers():
        if buf.is_floating_point():
            buf.copy_(reduce(buf.detach(), reduction="mean"))
