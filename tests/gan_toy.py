"""A toy task for GAN tests: 4 classes of 16x16 images (a bright square in quadrant c),
and a fixed teacher that solves it (no training, so the tests stay fast)."""

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.model import Teacher

CLASSES = ["top-left", "top-right", "bottom-left", "bottom-right"]
SIZE = 16


def toy_images(n: int, seed: int = 0) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    x = 0.1 * torch.rand(n, 1, SIZE, SIZE, generator=g)
    for i, c in enumerate(labels.tolist()):
        top = (c // 2) * 8 + int(torch.randint(0, 4, (1,), generator=g))
        left = (c % 2) * 8 + int(torch.randint(0, 4, (1,), generator=g))
        x[i, :, top:top + 5, left:left + 5] = 0.9
    return ImageDataset((x * 255).round().to(torch.uint8), labels, list(CLASSES), "toy")


class QuadrantNet(nn.Module):
    """A fixed classifier that is right on the toy task: features are the four quadrants'
    mean brightness (after a BatchNorm, so the teacher has BN statistics), the head picks the
    brightest."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        self.head = nn.Linear(4, 4)
        with torch.no_grad():
            self.head.weight.copy_(20 * torch.eye(4) - 5)
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(F.adaptive_avg_pool2d(self.bn(x), 2).flatten(1))


def toy_teacher() -> Teacher:
    return Teacher(QuadrantNet(), 4, 1, SIZE, [0.0], [1.0], CLASSES)


def save_teacher_card(stem, seed: int = 0) -> str:
    """A randomly initialised zoo classifier for the toy input, as a card the CLI loads."""
    from dfkd_core.models.checkpoints import save_classifier
    torch.manual_seed(seed)
    model = build_model("small_cnn", 4, 1)
    _, card = save_classifier(stem, model, {"arch": "small_cnn", "num_classes": 4, "in_channels": 1,
                                            "input_size": SIZE, "mean": [0.2], "std": [0.3], "class_names": CLASSES})
    return str(card)


def write_pngs(folder, n: int, seed: int = 0, size: int = SIZE):
    folder.mkdir(parents=True, exist_ok=True)
    data = toy_images(n, seed)
    paths = []
    for i, img in enumerate(data.images):
        arr = img[0].numpy().astype(np.uint8)
        path = folder / f"img{i:03d}.png"
        Image.fromarray(arr).resize((size, size)).save(path)
        paths.append(path)
    return paths


def teacher_labelled(teacher, n: int = 48, seed: int = 3) -> ImageDataset:
    """Toy images labelled by the teacher's argmax, as HiDFD labels what it collects."""
    data = toy_images(n, seed=seed)
    with torch.no_grad():
        data.labels = teacher(data.images.float() / 255).argmax(1)
    return data
