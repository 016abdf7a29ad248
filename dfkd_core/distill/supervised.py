"""Supervised training of a zoo classifier on a real dataset (teachers, and the real-data
reference of a student). The loop, checkpoints and resume are fit.py's."""


import torch.nn.functional as F

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.teacher.preprocess import Preprocess

from .config import TrainConfig
from .fit import fit


def train_classifier(model, preprocess: Preprocess, train_set: ImageDataset, test_set: ImageDataset,
                     cfg: TrainConfig, out_dir, device="cpu", **hooks) -> list[dict]:
    """Cross-entropy on the dataset's labels. hooks: on_epoch, should_stop, progress.
    Writes out_dir/checkpoint.safetensors and out_dir/metrics.csv; resumes from the checkpoint."""
    preprocess.to(device)

    def step_loss(x, y):
        logits = model(preprocess(x))
        return F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing), logits, y

    return fit(model, lambda im: model(preprocess(im)), train_set, test_set, cfg, step_loss, out_dir,
               device=device, **hooks)
