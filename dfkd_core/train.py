"""Supervised training of a zoo classifier on a real dataset (teachers, and the
real-data reference of a student). One checkpoint per epoch; a killed run resumes from it."""

import csv
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .data.image_dataset import ImageDataset, random_crop_flip
from .errors import DfkdError
from .evaluate import accuracy
from .io import atomic_write, torch_save
from .preprocess import Preprocess


@dataclass
class TrainConfig:
    epochs: int = 15
    batch_size: int = 128
    lr: float = 0.1
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    crop_pad: int = 2
    flip: bool = True
    seed: int = 0


def train_classifier(model, preprocess: Preprocess, train_set: ImageDataset, test_set: ImageDataset,
                     cfg: TrainConfig, out_dir, on_epoch=None, should_stop=lambda: False,
                     progress=None, device="cpu") -> list[dict]:
    """Train with SGD + Nesterov, one-cycle cosine LR; evaluate on test_set every epoch.
    Writes out_dir/checkpoint.pt and out_dir/metrics.csv; resumes from the checkpoint.
    Returns the metrics rows (one per epoch)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps_per_epoch = -(-len(train_set) // cfg.batch_size)
    # channels_last runs these small convnets up to 2x faster on a CPU (measured on WRN-16-2).
    model.to(device, memory_format=torch.channels_last)
    preprocess.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True,
                          weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, epochs=cfg.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.15)
    rows, start_epoch = [], 0
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if ckpt["config"] != asdict(cfg):
            raise DfkdError(f"{ckpt_path} was made with different settings {ckpt['config']}; "
                            "use a new output folder or the same settings to resume.")
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        rows, start_epoch = ckpt["rows"], ckpt["epoch"]

    for epoch in range(start_epoch, cfg.epochs):
        t0, seen, loss_sum, correct = time.time(), 0, 0.0, 0
        model.train()
        for x, y in train_set.batches(cfg.batch_size, shuffle=True, generator=gen):
            if should_stop():
                return rows
            if cfg.crop_pad or cfg.flip:
                x = random_crop_flip(x, cfg.crop_pad, cfg.flip, gen)
            x, y = x.to(device), y.to(device)
            logits = model(preprocess(x))
            loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(y)
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            if progress:
                progress(epoch + seen / len(train_set), cfg.epochs)
        model.eval()
        test_acc = accuracy(lambda im: model(preprocess(im)), test_set, device=device)
        rows.append({"epoch": epoch + 1, "train_loss": round(loss_sum / seen, 5),
                     "train_acc": round(correct / seen, 5), "test_acc": round(test_acc, 5),
                     "lr": round(sched.get_last_lr()[0], 6), "epoch_seconds": round(time.time() - t0, 1)})
        torch_save(ckpt_path, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                               "scheduler": sched.state_dict(), "generator": gen.get_state(),
                               "torch_rng": torch.get_rng_state(), "rows": rows, "epoch": epoch + 1,
                               "config": asdict(cfg)})
        write_metrics_csv(out / "metrics.csv", rows)
        if on_epoch:
            on_epoch(rows[-1])
    return rows


def write_metrics_csv(path, rows: list[dict]):
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    atomic_write(path, write)
