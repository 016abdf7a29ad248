"""One entry point for real datasets: `load_dataset(name, split)`.

Names: 'fashion-mnist' (splits train/test/teacher-train/pool), 'cifar10' and 'cifar100'
(train/test, through torchvision), or a path to an ImageFolder directory (split = a
subfolder such as 'train'/'test' if present, else the folder itself).
"""

from pathlib import Path

import numpy as np
import torch

from dfkd_core.errors import DfkdError

from . import cifar  # cifar.X looked up when called (tests replace cifar.download)
from .fashion_mnist import SPLITS, load_fashion_mnist, locate
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


def _cifar_folder(root) -> Path:
    return Path(root) if root else Path.home() / ".cache" / "dfkd"


def _load_cifar(key: str, split: str, root, download: bool) -> ImageDataset:
    folder = _check_cifar(key, split, root, download)
    return cifar.load_cifar(key, split, folder)


def _check_cifar(key: str, split: str, root, download: bool) -> Path:
    if split not in ("train", "test"):
        raise DfkdError(f"CIFAR has splits 'train' and 'test', not '{split}'.")
    folder = _cifar_folder(root)
    if cifar.missing(key, split, folder) and download:
        cifar.download(key, folder)
    lacking = cifar.missing(key, split, folder)
    if lacking:
        raise DfkdError(f"{key.upper()} not found in {folder} (no {lacking[0].relative_to(folder)}). Pass "
                        f"--data-dir with the folder holding torchvision's '{cifar.LAYOUT[key][0]}', or --download "
                        "where there is network.")
    return folder


def class_count(name: str, split: str = "test") -> int | None:
    """How many classes the dataset has, without reading its images (None if unknown)."""
    key = str(name).lower().replace("_", "-")
    counts = {"fashion-mnist": 10, "fmnist": 10, "fashionmnist": 10, "cifar10": 10, "cifar-10": 10,
              "cifar100": 100, "cifar-100": 100}
    if key in counts:
        return counts[key]
    folder = Path(name) / split if split and (Path(name) / split).is_dir() else Path(name)
    return sum(p.is_dir() for p in folder.iterdir()) if folder.is_dir() else None


def check_dataset(name: str, split: str = "test", root=None, download: bool = False) -> str:
    """That load_dataset(name, split, root) would find its files (downloading them now when
    `download`), without reading the images: a run checks its datasets before any work.
    Returns where they are."""
    key = str(name).lower().replace("_", "-")
    if key in ("fashion-mnist", "fmnist", "fashionmnist"):
        if split not in SPLITS:
            raise DfkdError(f"Unknown Fashion-MNIST split '{split}'. Expected one of: {', '.join(SPLITS)}.")
        return str(locate(root, download))
    if key in ("cifar10", "cifar-10", "cifar100", "cifar-100"):
        return str(_check_cifar(key.replace("-", ""), split, root, download))
    if Path(name).is_dir():
        return str(Path(name) / split if split and (Path(name) / split).is_dir() else Path(name))
    raise DfkdError(f"Unknown dataset '{name}' (not a known name, nor an existing folder). Expected one of: "
                    f"{', '.join(DATASETS)}.")


def load_image_folder(folder: Path, split: str | None = None, image_size: int | None = None) -> ImageDataset:
    """class-per-subfolder layout; images resized to image_size (default: the first image's size)."""
    from PIL import Image  # heavy: keeps PIL off importing data.datasets

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
