"""Which process this is, when `dfkd` runs under torchrun or `accelerate launch`, and what the
processes agree on. accelerate's PartialState makes the process group from the launcher's
variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) and picks this rank's GPU
(cuda:LOCAL_RANK); accelerate.utils reduces, broadcasts and gathers.

A single process (no such variables, or WORLD_SIZE=1) never touches torch.distributed nor
accelerate's state: every function here is then a no-op that answers rank 0 of 1 (accelerate
itself would make a one-process NCCL group under `torchrun --nproc_per_node 1` on a GPU).
Until the group is made, world() reads the launcher's variables, as PartialState does.

What accelerate does not do, kept here:
- srun (SLURM) sets SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID, which accelerate does not
  read: they stand in for RANK, WORLD_SIZE and LOCAL_RANK when those are absent.
- A long timeout (DFKD_DIST_TIMEOUT_MIN, default 180 minutes): ranks wait at barriers while
  rank 0 alone writes a stage's files.
- Barriers on the CPU: on GPUs the group is "cuda:nccl,cpu:gloo" (CUDA tensors through NCCL,
  CPU ones and barriers through gloo); accelerate's wait_for_everyone would hold an NCCL
  kernel on every waiting GPU for as long as rank 0 writes."""

import datetime
import os

import torch

from dfkd_core.errors import DfkdError

_STATE = None  # accelerate's PartialState, once this process has made the group (several processes only)
_LAUNCHER = (("RANK", "SLURM_PROCID", 0), ("WORLD_SIZE", "SLURM_NTASKS", 1), ("LOCAL_RANK", "SLURM_LOCALID", 0))


def _env(name: str, slurm: str, default: int) -> int:
    value = os.environ.get(name) or os.environ.get(slurm)
    return default if value in (None, "") else int(value)


def world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) of this process."""
    if _STATE is not None:
        return _STATE.process_index, _STATE.num_processes, _STATE.local_process_index
    return tuple(_env(*variable) for variable in _LAUNCHER)


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
    """Make the process group once (only when WORLD_SIZE > 1); returns this rank's device."""
    global _STATE
    device = rank_device(device)
    if _STATE is not None or not is_distributed():
        return device
    from accelerate import PartialState  # heavy: keeps accelerate off importing runtime.distributed
    for (name, _, _), value in zip(_LAUNCHER, world()):
        os.environ.setdefault(name, str(value))  # srun's SLURM_* values, for accelerate and env://
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    timeout = datetime.timedelta(minutes=float(os.environ.get("DFKD_DIST_TIMEOUT_MIN", "180")))
    cuda = device.startswith("cuda")
    state = PartialState(cpu=not cuda, backend="cuda:nccl,cpu:gloo" if cuda else "gloo", timeout=timeout)
    if state.num_processes != world()[1]:  # accelerate saw no launcher: each rank would work alone
        raise DfkdError(f"The launcher says {world()[1]} processes but accelerate found {state.num_processes}; "
                        "launch with torchrun, `accelerate launch` or srun, which set RANK, WORLD_SIZE and "
                        "LOCAL_RANK (or SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID).")
    _STATE = state
    return device


def barrier():
    """Wait until every rank gets here (no-op in one process), on the CPU (gloo)."""
    if is_distributed():
        init_if_needed()
        torch.distributed.barrier()  # no device_ids: the group's CPU backend waits


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of `tensor` over the ranks, as a new tensor (the tensor itself in one process).
    A CPU tensor goes through gloo, a CUDA one through NCCL."""
    if not is_distributed():
        return tensor
    init_if_needed("cuda" if tensor.is_cuda else "cpu")
    from accelerate.utils import reduce  # heavy: keeps accelerate off importing runtime.distributed
    return reduce(tensor, reduction="sum")


def every_rank(tensors: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Each rank's tensors (of the same shapes on every rank), on every rank, in rank order,
    on the CPU ([tensors] in one process)."""
    if not is_distributed():
        return [tensors]
    init_if_needed()
    from accelerate.utils import gather  # heavy: keeps accelerate off importing runtime.distributed
    got = gather({k: v[None].to(_STATE.device) for k, v in tensors.items()})  # NCCL gathers CUDA tensors
    return [{k: v[r].cpu() for k, v in got.items()} for r in range(world()[1])]


def cleanup():
    """Tear the process group down (the end of a launched command)."""
    global _STATE
    if _STATE is not None:
        _STATE.destroy_process_group()
        type(_STATE)._reset_state()
        _STATE = None


def any_rank(flag: bool) -> bool:
    """True on every rank when it is true on one (a stop asked on rank 0 stops them all)."""
    if not is_distributed():
        return bool(flag)
    return all_reduce_sum(torch.tensor([float(bool(flag))])).item() > 0


def sums(*values: float) -> list[float]:
    """Each value summed over the ranks."""
    return all_reduce_sum(torch.tensor(values, dtype=torch.float64)).tolist()


def from_main(value: float | None) -> float | None:
    """Rank 0's value on every rank (None stays None), so every rank reports the same figures."""
    if not is_distributed():
        return value
    init_if_needed()
    from accelerate.utils import broadcast  # heavy: keeps accelerate off importing runtime.distributed
    got = broadcast(torch.tensor([float("nan") if value is None else float(value)], dtype=torch.float64))
    return None if got.isnan().item() else got.item()
