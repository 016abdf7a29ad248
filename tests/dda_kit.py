"""Shared by the DDA, filtering and app-filter tests: a small random teacher (and its card)
and a sample store whose variations are known: v1 an exact copy of its source, v2 another
image."""

import torch

from dfkd_core.models.checkpoints import save_classifier
from dfkd_core.models.zoo import build_model
from dfkd_core.store import LabelledBatch, SampleStore
from dfkd_core.teacher.model import Teacher

NAMES = ["a", "b", "c"]


def small_model(num_classes=3, seed=0):
    torch.manual_seed(seed)
    model = build_model("small_cnn", num_classes, 1)
    with torch.no_grad():
        model.fc.weight.mul_(30)  # sharper probabilities
    return model


def small_teacher(num_classes=3, names=NAMES):
    return Teacher(small_model(num_classes), num_classes, 1, 32, [0.5], [0.25], names)


def teacher_card(folder, num_classes=3, names=NAMES) -> str:
    save_classifier(folder / "teacher", small_model(num_classes),
                    {"arch": "small_cnn", "num_classes": num_classes, "in_channels": 1, "input_size": 32,
                     "mean": [0.5], "std": [0.25], "class_names": list(names)})
    return str(folder / "teacher.json")


def _batch(images, targets, seeds, num_classes):
    probs = torch.full((len(targets), num_classes), 1.0 / num_classes)
    return LabelledBatch(images, torch.tensor(targets), seeds, probs, "unguided")


def store_with_variations(root, names=NAMES, per_class=2, size=16, seed=0) -> SampleStore:
    """Sources c<class>-s<k> (random smooth images); for each, v1 = the same image and
    v2 = a different image."""
    gen = torch.Generator().manual_seed(seed)
    k = len(names)
    targets = [c for c in range(k) for _ in range(per_class)]
    seeds = [s for _ in range(k) for s in range(per_class)]

    def images(n):
        coarse = torch.rand(n, 1, size // 4, size // 4, generator=gen)
        return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear")

    store = SampleStore(root)
    sources = images(len(targets))
    settings = {"class_names": list(names)}
    store.add(_batch(sources, targets, seeds, k), names, settings)
    ids = [f"c{c:03d}-s{s}" for c, s in zip(targets, seeds)]
    for v, imgs in ((1, sources), (2, images(len(targets)))):
        rows = [{"id": f"{i}-v{v}", "source_id": i, "variation": v, "strength": 0.5, "method": "dda"} for i in ids]
        store.add(_batch(imgs, targets, [1000 * v + s for s in seeds], k), names, settings, rows)
    return store
