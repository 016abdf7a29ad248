"""CIFAR-10/100 from torchvision's on-disk layout (cifar-10-batches-py/, cifar-100-python/).

The batches are Python pickles: they are read with an unpickler that builds only numpy
arrays, lists, dicts and strings (a pickle can run any code it names), and every size is
checked, so a file from elsewhere can neither run code nor declare a huge array. Only the
download goes through torchvision (which checks the archive's MD5); reading does not check
MD5s, so a subset or a re-packed copy in the same layout loads too."""

import io
import pickle
from pathlib import Path

import numpy as np
import torch

from dfkd_core.errors import DfkdError

from .image_dataset import ImageDataset

LAYOUT = {  # key: (folder, train files, test files, meta file, label key, names key)
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "batches.meta",
                "labels", "label_names"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], "meta", "fine_labels", "fine_label_names"),
}
MAX_FILE_BYTES = 200 * 2**20  # the real files are 31-155 MB
ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
           ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
           ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read(path: Path) -> dict:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DfkdError(f"{path} is {path.stat().st_size} bytes, more than any CIFAR file ({MAX_FILE_BYTES}).")
    try:
        data = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except Exception as e:  # a damaged pickle fails in many ways
        raise DfkdError(f"Could not read CIFAR file {path}: {e}.")
    if not isinstance(data, dict):
        raise DfkdError(f"{path} is not a CIFAR batch (expected a dict).")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def files(key: str, split: str, folder: Path) -> list[Path]:
    name, train, test, meta, *_ = LAYOUT[key]
    return [folder / name / f for f in (train if split == "train" else test) + [meta]]


def missing(key: str, split: str, folder: Path) -> list[Path]:
    return [p for p in files(key, split, folder) if not p.is_file()]


def download(key: str, folder: Path):
    from torchvision import datasets as tvd  # heavy: keeps torchvision off importing data.cifar
    try:
        (tvd.CIFAR10 if key == "cifar10" else tvd.CIFAR100)(str(folder), train=True, download=True)
    except Exception as e:  # network errors come in many types
        raise DfkdError(f"Downloading {key.upper()} into {folder} failed ({e}). Put torchvision's "
                        f"'{LAYOUT[key][0]}' folder there by hand and pass --data-dir.")


def load_cifar(key: str, split: str, folder: Path) -> ImageDataset:
    *batches, meta_path = files(key, split, folder)
    label_key, names_key = LAYOUT[key][4:]
    names = _read(meta_path).get(names_key)
    if isinstance(names, list):
        names = [n.decode("latin1") if isinstance(n, bytes) else n for n in names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DfkdError(f"{meta_path} holds no list of class names under '{names_key}'.")
    images, labels = [], []
    for path in batches:
        batch = _read(path)
        data, y = batch.get("data"), batch.get(label_key)
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
                and data.shape[1] == 3 * 32 * 32 and isinstance(y, list) and len(y) == len(data)):
            raise DfkdError(f"{path} is not a CIFAR batch: expected 'data' (N x 3072 uint8) and N '{label_key}'.")
        if y and not all(isinstance(v, int) and 0 <= v < len(names) for v in y):
            raise DfkdError(f"{path} has labels outside 0..{len(names) - 1}.")
        images.append(data.reshape(-1, 3, 32, 32))
        labels += y
    return ImageDataset(torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.long), names,
                        f"{key}/{split}")
