"""Programs that tests/test_distributed_distill.py launches with torchrun (2 processes, gloo):

    ddp_workers.py eval OUT      each rank's share of a 7-image test set, and the reduced accuracy
    ddp_workers.py run CFG OUT [STOP_AFTER]
                                 run_pipeline(CFG.json) in OUT; with STOP_AFTER, rank 0 alone asks
                                 to stop at its STOP_AFTER-th poll (the other ranks never ask)

Each rank writes OUT/rank<R>.json with what it saw."""

import json
import sys
from pathlib import Path

import torch

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.runtime.distributed import cleanup, init_if_needed, world
from dfkd_core.teacher.evaluate import accuracy_across_ranks


def labelled_by_index(n: int) -> ImageDataset:
    """Image i is filled with the value i; its label is i % 3."""
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return ImageDataset(images, torch.arange(n) % 3, ["a", "b", "c"], "by-index")


def predict_index_mod_2(seen: list):
    """A classifier that says i % 2 for image i (right for i % 6 in {0, 1}) and records i."""
    def logits(x):
        idx = (x[:, 0, 0, 0] * 255).round().long()
        seen.extend(idx.tolist())
        return torch.nn.functional.one_hot(idx % 2, 3).float()
    return logits


def evaluate(out: Path):
    init_if_needed("cpu")
    seen = []
    acc = accuracy_across_ranks(predict_index_mod_2(seen), labelled_by_index(7), batch_size=2)
    return {"seen": seen, "accuracy": acc}


def run(cfg_path: Path, out: Path, stop_after: int | None):
    from dfkd_core.pipeline.run import run_pipeline
    polls = iter(range(1, 10**9))
    rank = world()[0]

    def should_stop():
        return stop_after is not None and rank == 0 and next(polls) >= stop_after

    ctx = run_pipeline(json.loads(cfg_path.read_text()), out / "run", log=lambda m: None, should_stop=should_stop)
    return {"cancelled": ctx.cancelled, "stopped_at": ctx.stopped_at, "results": ctx.results}


if __name__ == "__main__":
    task, out = sys.argv[1], Path(sys.argv[-1] if sys.argv[1] == "eval" else sys.argv[3])
    if task == "eval":
        report = evaluate(out)
    else:
        report = run(Path(sys.argv[2]), out, int(sys.argv[4]) if len(sys.argv) > 4 else None)
    (out / f"rank{world()[0]}.json").write_text(json.dumps(report))
    cleanup()
