"""One entry point for real datasets: `load_dataset(name, split)`.

Names: 'fashion-mnist' (splits train/test/teacher-train/pool), 'cifar10' and 'cifar100'
(train/test, through torchvision), or a path to an ImageFolder directory (split = a
subfolder such as 'train'/'test' if present, else the folder itself).
"""

from pathlib import Path

import numpy as np
import torch

from ..errors import DfkdError
from .fashion_mnist import load_fashion_mnist
from .image_dataset import ImageDataset

DATASETS = ("fashion-mnist", "cifar10", "cifar100", "<image folder path>")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def load_dataset(name: str, split: str = "test", root=None, download: bool = False,
                 image_size: int | None = None) -> ImageDataset:
    key = name.lower().replace("_", "-")
    if key in ("fashion-mnist", "fmnist", "fashionmnist"):
        return load_fashion_mnist(split, root, download)
    if key in ("cifar10", "cifar-10", "cifar100", "cifar-100"):
        return _load_cifar(key.replace("-", ""), split, root, download)
    if Path(name).is_dir():
        return load_image_folder(Path(name), split, image_size)
    raise DfkdError(f"Unknown dataset '{name}'. Expected one of: {', '.join(DATASETS)}.")


def _load_cifar(key: str, split: str, root, download: bool) -> ImageDataset:
    if split not in ("train", "test"):
        raise DfkdError(f"CIFAR has splits 'train' and 'test', not '{split}'.")
    from torchvision import datasets as tvd
    cls = tvd.CIFAR10 if key == "cifar10" else tvd.CIFAR100
    folder = Path(root) if root else Path.home() / ".cache" / "dfkd"
    try:
        ds = cls(str(folder), train=split == "train", download=download)
    except RuntimeError as e:
        raise DfkdError(f"{key.upper()} not found in {folder} ({e}). Pass --data-dir with the folder holding "
                        f"'{cls.base_folder}', or --download where there is network.")
    images = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
    return ImageDataset(images, torch.as_tensor(ds.targets, dtype=torch.long), list(ds.classes), f"{key}/{split}")


def load_image_folder(folder: Path, split: str | None = None, image_size: int | None = None) -> ImageDataset:
    """class-per-subfolder layout; images resized to image_size (default: the first image's size)."""
    from PIL import Image

    if split and (folder / split).is_dir():
        folder = folder / split
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise DfkdError(f"{folder} has no class subfolders. Expected folder/<class name>/<image files>.")
    images, labels = [], []
    for label, cls in enumerate(classes):
        for path in sorted((folder / cls).iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                img = Image.open(path)
                img.load()
            except OSError as e:
                raise DfkdError(f"Could not read image {path}: {e}.")
            mode = "L" if img.mode in ("L", "1", "I", "I;16") else "RGB"
            img = img.convert(mode)
            if image_size is None:
                image_size = img.size[0]
            if img.size != (image_size, image_size):
                img = img.resize((image_size, image_size), Image.BILINEAR)
            images.append(np.asarray(img).reshape(image_size, image_size, -1))
            labels.append(label)
    if not images:
        raise DfkdError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {folder}.")
    channels = max(a.shape[-1] for a in images)
    array = np.stack([np.repeat(a, channels // a.shape[-1], -1) for a in images]).transpose(0, 3, 1, 2)
    return ImageDataset(torch.from_numpy(np.ascontiguousarray(array)), torch.tensor(labels), classes, str(folder))


def align_classes(data: ImageDataset, class_names: list) -> ImageDataset:
    """The dataset with its labels renumbered to follow `class_names` (an image folder lists
    classes alphabetically; a teacher has its own order). Same names in another order are
    renumbered; a different class count is an error; other names are taken as index-aligned."""
    if list(data.class_names) == list(class_names):
        return data
    if len(data.class_names) != len(class_names):
        raise DfkdError(f"{data.name} has {len(data.class_names)} classes but the teacher has {len(class_names)}.")
    if set(data.class_names) != set(class_names):
        return data
    order = torch.tensor([list(class_names).index(n) for n in data.class_names])
    return ImageDataset(data.images, order[data.labels], list(class_names), data.name)
