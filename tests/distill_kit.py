"""A tiny task for distillation tests, built in seconds: 16x16 grayscale images whose class
is the bright quadrant (4 classes), and a small_cnn teacher trained on it."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.distill.config import TrainConfig
from dfkd_core.distill.supervised import train_classifier
from dfkd_core.models.checkpoints import save_classifier
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.preprocess import Preprocess

SIZE, CLASSES = 16, ["top-left", "top-right", "bottom-left", "bottom-right"]


def quadrant_images(n: int, seed: int) -> ImageDataset:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    images = rng.normal(60, 25, (n, 1, SIZE, SIZE))
    h = SIZE // 2
    for i, y in enumerate(labels):
        r, c = divmod(int(y), 2)
        images[i, 0, r * h:(r + 1) * h, c * h:(c + 1) * h] += 120
    images = np.clip(images, 0, 255).astype(np.uint8)
    return ImageDataset(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), CLASSES, "quadrants")


def save_image_folder(data: ImageDataset, folder: Path) -> Path:
    for i, (img, y) in enumerate(zip(data.images, data.labels.tolist())):
        (folder / CLASSES[y]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[0].numpy()).save(folder / CLASSES[y] / f"{i}.png")
    return folder


def train_teacher(folder: Path) -> Path:
    """A small_cnn teacher (card + safetensors) trained to ~100% on the quadrant task."""
    torch.manual_seed(0)
    model = build_model("small_cnn", 4, 1)
    pre = Preprocess(1, SIZE, [0.35], [0.3])
    train_classifier(model, pre, quadrant_images(512, 0), quadrant_images(128, 1),
                     TrainConfig(epochs=3, batch_size=64, lr=0.05, crop_pad=0, flip=False), folder / "work")
    card = dict(arch="small_cnn", num_classes=4, in_channels=1, input_size=SIZE, mean=[0.35], std=[0.3],
                class_names=CLASSES)
    save_classifier(folder / "teacher", model.eval(), card)
    return folder / "teacher.json"
