"""The synthetic-sample store: a folder of PNG images plus a manifest (manifest.csv, one
row per image). Images are written before their manifest rows, both atomically, so an
interrupted run leaves no half-written file and no row without its image; a sample is
identified by (target class, seed), so a resumed run skips what is already there; a DDA
variation is identified by its id, `<source id>-v<k>`.

Manifest columns: id, file, target, class_name, seed, method, teacher_prob (the teacher's
probability of the target), teacher_pred, teacher_probs (all K, ';'-separated),
cutmix (JSON records), settings (JSON), created, and for DDA: source_id (the sample a
variation was made from; a sample's own id otherwise), variation (k >= 1; 0 for a
source) and strength (the SDEdit strength s; 0 for a source). Manifests written before
those three columns existed read with these defaults."""

import io
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from ..errors import DfkdError
from ..io import atomic_write
from .image_dataset import ImageDataset

COLUMNS = ["id", "file", "target", "class_name", "seed", "method", "teacher_prob", "teacher_pred",
           "teacher_probs", "cutmix", "settings", "created", "source_id", "variation", "strength"]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) floats in [0, 1] -> (B, H, W[, C]) uint8."""
    arr = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return arr[..., 0] if arr.shape[-1] == 1 else arr


@dataclass
class LabelledBatch:
    """Images with the teacher's verdict, as SampleStore.add takes them."""
    images: torch.Tensor  # (B, C, H, W) in [0, 1], CPU
    targets: torch.Tensor
    seeds: list
    probs: torch.Tensor  # teacher probabilities (B, K)
    method: str  # how the images were made, as the manifest records it
    records: list = field(default_factory=list)  # per sample: CutMix records (or [])

    @property
    def target_prob(self) -> torch.Tensor:
        return self.probs.gather(1, self.targets.view(-1, 1)).squeeze(1)


class SampleStore:
    def __init__(self, root):
        self.root = Path(root)
        self.images_dir = self.root / "images"
        self.manifest_path = self.root / "manifest.csv"

    def manifest(self) -> pd.DataFrame:
        if not self.manifest_path.exists():
            return pd.DataFrame(columns=COLUMNS)
        try:
            df = pd.read_csv(self.manifest_path, dtype={"id": str, "file": str, "source_id": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise DfkdError(f"{self.manifest_path} is not a readable manifest ({e}).")
        if "source_id" not in df:
            df["source_id"] = df["id"]
        if "variation" not in df:
            df["variation"] = 0
        if "strength" not in df:
            df["strength"] = 0.0
        return df

    def existing_keys(self) -> set[tuple[int, int]]:
        """(target, seed) of the samples that are not DDA variations."""
        df = self.manifest()
        df = df[df["variation"] == 0]
        return set(zip(df["target"].astype(int), df["seed"].astype(int)))

    def add(self, batch, class_names, settings: dict, overrides: list[dict] | None = None) -> pd.DataFrame:
        """Write a LabelledBatch; returns the new manifest rows. overrides: one dict of column
        values per sample (e.g. id, source_id, variation, strength, method for DDA)."""
        self.images_dir.mkdir(parents=True, exist_ok=True)
        rows = []
        for img, y, seed, probs, recs, extra in zip(to_uint8(batch.images), batch.targets.tolist(), batch.seeds,
                                                    batch.probs, batch.records or [[]] * len(batch.seeds),
                                                    overrides or [{}] * len(batch.seeds)):
            sid = extra.get("id", f"c{y:03d}-s{seed}")
            file = f"images/{sid}.png"
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="PNG")
            data = buf.getvalue()
            atomic_write(self.root / file, lambda tmp, data=data: Path(tmp).write_bytes(data))
            rows.append({"id": sid, "file": file, "target": y, "class_name": class_names[y], "seed": seed,
                         "method": batch.method, "teacher_prob": round(float(probs[y]), 6),
                         "teacher_pred": int(probs.argmax()), "teacher_probs": ";".join(f"{p:.5f}" for p in probs.tolist()),
                         "cutmix": json.dumps(recs), "settings": json.dumps(settings, sort_keys=True),
                         "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "source_id": sid, "variation": 0,
                         "strength": 0.0, **extra})
        new = pd.DataFrame(rows, columns=COLUMNS)
        self._merge(new)
        return new

    def _merge(self, new: pd.DataFrame):
        """Rows with the ids of `new` are replaced; the manifest is rewritten atomically."""
        old = self.manifest()
        merged = pd.concat([old[~old["id"].isin(new["id"])], new], ignore_index=True) if len(old) else new
        atomic_write(self.manifest_path, lambda tmp: merged.to_csv(tmp, index=False))

    def copy_to(self, ids, dest) -> "SampleStore":
        """A new store at `dest` holding the samples `ids` (images and rows); resumable."""
        dest = SampleStore(dest)
        if dest.root.resolve() == self.root.resolve():
            raise DfkdError(f"Cannot copy {self.root} onto itself; choose another folder.")
        df = self.manifest()
        df = df[df["id"].isin(set(ids))]
        for file in df["file"]:
            if not (dest.root / file).exists():
                atomic_write(dest.root / file, lambda tmp, src=self.root / file: shutil.copyfile(src, tmp))
        dest._merge(df)
        return dest

    def load(self, ids=None) -> ImageDataset:
        """The stored images (labels = target class) as an ImageDataset."""
        df = self.manifest()
        if ids is not None:
            df = df[df["id"].isin(list(ids))]
        if df.empty:
            raise DfkdError(f"No samples in {self.root}.")
        images = self._read(df["file"])
        settings = json.loads(df["settings"].iloc[0]) if "settings" in df else {}
        names = settings.get("class_names") or sorted(set(df["class_name"]))
        labels = torch.tensor(df["target"].to_numpy(dtype="int64", copy=True))
        return ImageDataset(torch.from_numpy(images), labels, names, str(self.root))

    def images(self, ids) -> torch.Tensor:
        """The images of `ids`, in that order, as floats in [0, 1], (N, C, H, W)."""
        files = self.manifest().set_index("id")["file"]
        missing = [i for i in ids if i not in files.index]
        if missing:
            raise DfkdError(f"{self.root} has no samples {missing[:5]}{' ...' if len(missing) > 5 else ''}.")
        return torch.from_numpy(self._read([files[i] for i in ids])).float().div(255)

    def _read(self, files) -> np.ndarray:
        arrays = [np.asarray(Image.open(self.root / f)) for f in files]
        return np.ascontiguousarray(np.stack([a[..., None] if a.ndim == 2 else a for a in arrays]).transpose(0, 3, 1, 2))

