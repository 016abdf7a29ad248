"""fit()'s checkpoint, checkpoint.safetensors: what an exact resume needs, written at the end of
every epoch, every SAVE_SECONDS inside one, and when a stop is asked (fit.py says when).

Inside an epoch it holds the position (batches done), the metric sums so far and each rank's
random states, now and at the epoch's start: the epoch's batch order is drawn from the
generator when its first batch is taken, so a resume redraws it from the start state, skips
the batches done, and carries on with the generator where the checkpoint left it."""

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from dfkd_core.errors import DfkdError
from dfkd_core.io import load_state, save_state
from dfkd_core.runtime.distributed import every_rank, is_main, world

NAME = "checkpoint.safetensors"


@dataclass
class Position:
    """Where one rank is: `epoch` epochs finished and `step` batches of the next one done."""
    epoch: int
    start: torch.Tensor  # the generator's state when that epoch began
    step: int = 0
    seen: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seconds: float = 0.0  # the epoch's training time so far


def save(path: Path, pos: Position, gen: torch.Generator, model, opt, sched, rows: list, cfg, train_size: int):
    """Every rank calls it (their states are gathered); rank 0 writes."""
    mine = {"generator": gen.get_state() if pos.step else pos.start,  # at step 0 the order may be drawn already
            "epoch_generator": pos.start, "torch_rng": torch.get_rng_state(),
            "sums": torch.tensor([pos.seen, pos.loss_sum, pos.correct], dtype=torch.float64)}
    ranks = every_rank(mine)
    if is_main():
        save_state(path, {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                          "ranks": ranks, "rows": rows, "epoch": pos.epoch, "step": pos.step, "seconds": pos.seconds,
                          "config": asdict(cfg), "train_size": train_size, "processes": len(ranks)})


def restore(path: Path, cfg, train_size: int, model, opt, sched, gen: torch.Generator) -> tuple[Position, list]:
    """(position, metrics rows) of the checkpoint at path, its states loaded; the start when there is none."""
    if not path.exists():
        return Position(0, gen.get_state()), []
    ckpt = load_state(path)
    saved = {**asdict(type(cfg)()), **ckpt["config"]}  # settings added since the checkpoint: their defaults
    if saved != asdict(cfg) or ckpt["train_size"] != train_size:
        raise DfkdError(f"{path} was made with other settings or data ({ckpt['config']}, {ckpt['train_size']} "
                        "images); use a new output folder, or the same settings and data to resume.")
    rank, size, _ = world()
    if ckpt["processes"] != size:  # each rank's share and random state depend on their number
        raise DfkdError(f"{path} was made by {ckpt['processes']} process(es); resume it with as many (this run "
                        f"has {size}), or use a new output folder.")
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    mine = ckpt["ranks"][rank]
    gen.set_state(mine["generator"])
    torch.set_rng_state(mine["torch_rng"])
    seen, loss_sum, correct = mine["sums"].tolist()
    return Position(ckpt["epoch"], mine["epoch_generator"], ckpt["step"], int(seen), loss_sum, int(correct),
                    ckpt["seconds"]), ckpt["rows"]


def batches_from(pos: Position, gen: torch.Generator, batches):
    """The epoch's batches (an iterable drawing its order from gen) from position pos.step on."""
    batches = iter(batches)
    if pos.step:
        now = gen.get_state()
        gen.set_state(pos.start)
        for _ in range(pos.step):
            next(batches)
        gen.set_state(now)
    return batches
