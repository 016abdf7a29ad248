"""Which process this is, when `dfkd` runs under torchrun or `accelerate launch`.

Both launchers set RANK, WORLD_SIZE and LOCAL_RANK (SLURM's srun sets SLURM_PROCID,
SLURM_NTASKS and SLURM_LOCALID, read when the others are absent). A single process (no
such variables, or WORLD_SIZE=1) never touches torch.distributed: every function here is
then a no-op that answers rank 0 of 1. With more processes, the process group is made once
(gloo on CPU, nccl on CUDA), plus a gloo group for barriers so that waiting ranks do not
hold a GPU stream. A rank's GPU is cuda:LOCAL_RANK."""

import datetime
import os

import torch
import torch.distributed as dist

_GLOO = None  # the gloo group barriers use (the default group when the backend is gloo)


def _env(name: str, slurm: str, default: int) -> int:
    value = os.environ.get(name, os.environ.get(slurm))
    return default if value in (None, "") else int(value)


def world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) of this process, from the launcher's environment."""
    return _env("RANK", "SLURM_PROCID", 0), _env("WORLD_SIZE", "SLURM_NTASKS", 1), \
        _env("LOCAL_RANK", "SLURM_LOCALID", 0)


def is_distributed() -> bool:
    return world()[1] > 1


def is_main() -> bool:
    """Whether this process writes the files written once (config, cards, exports, progress)."""
    return world()[0] == 0


def rank_device(device: str) -> str:
    """`cuda` means this rank's GPU (cuda:LOCAL_RANK) when there are several processes."""
    if is_distributed() and str(device) == "cuda":
        return f"cuda:{world()[2]}"
    return str(device)


def init_if_needed(device: str = "cpu") -> str:
    """Make the process group once (only when WORLD_SIZE > 1); returns this rank's device.
    The launchers set MASTER_ADDR/MASTER_PORT; a long timeout, since ranks wait at barriers
    while rank 0 alone writes a stage's files (DFKD_DIST_TIMEOUT_MIN, default 180)."""
    global _GLOO
    device = rank_device(device)
    if not is_distributed():
        return device
    if not dist.is_initialized():
        rank, size, local = world()
        cuda = device.startswith("cuda")
        if cuda:
            torch.cuda.set_device(local)
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29500")
        timeout = datetime.timedelta(minutes=float(os.environ.get("DFKD_DIST_TIMEOUT_MIN", "180")))
        dist.init_process_group("nccl" if cuda else "gloo", rank=rank, world_size=size, timeout=timeout)
        _GLOO = dist.new_group(backend="gloo", timeout=timeout) if cuda else dist.group.WORLD
    return device


def barrier():
    """Wait until every rank gets here (no-op in one process)."""
    if is_distributed():
        init_if_needed()
        dist.barrier(group=_GLOO)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of `tensor` over the ranks, in place and returned (the tensor itself in one
    process). A CPU tensor goes through gloo, a CUDA one through the default group."""
    if is_distributed():
        init_if_needed("cuda" if tensor.is_cuda else "cpu")
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=None if tensor.is_cuda else _GLOO)
    return tensor


def cleanup():
    """Tear the process group down (the end of a launched command)."""
    global _GLOO
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
        _GLOO = None


def any_rank(flag: bool) -> bool:
    """True on every rank when it is true on one (a stop asked on rank 0 stops them all)."""
    if world()[1] == 1:
        return bool(flag)
    return all_reduce_sum(torch.tensor([float(bool(flag))])).item() > 0


def sums(*values: float) -> list[float]:
    """Each value summed over the ranks."""
    return all_reduce_sum(torch.tensor(values, dtype=torch.float64)).tolist()


def from_main(value: float | None) -> float | None:
    """Rank 0's value on every rank (None stays None), so every rank reports the same figures."""
    if world()[1] == 1:
        return value
    mine = (float("nan") if value is None else float(value)) if world()[0] == 0 else 0.0
    got = sums(mine)[0]
    return None if got != got else got
