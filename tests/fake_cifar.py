"""A tiny fake CIFAR-10 in torchvision's on-disk layout (cifar-10-batches-py/ pickles), so
tests read CIFAR through the project's real loader without the 170 MB download."""

import pickle
from pathlib import Path

import numpy as np

NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def fake_cifar10(root, per_batch: int = 20, seed: int = 0) -> Path:
    """root/cifar-10-batches-py with five training batches and a test batch of `per_batch` images each."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        # The real files were pickled by Python 2: their str keys and names load as str.
        batch = {"batch_label": name, "labels": [i % 10 for i in range(per_batch)],
                 "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "filenames": [f"{i}.png" for i in range(per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {"num_cases_per_batch": per_batch, "label_names": NAMES, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return Path(root)
