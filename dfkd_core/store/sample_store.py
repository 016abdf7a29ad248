"""The synthetic-sample store: a folder of PNG images (images/<id>.png), their rows
(metadata.csv, see rows.py) and the settings they were made with (settings.json).

Adding is append-only and never silently replaces: a batch whose ids are already in the
store is refused as a whole (the message says which ids, and the next unused seed),
unless the caller asks to replace them (DDA's explicit overwrite); a batch whose rows would
not read back (a target beyond the classes, probabilities or settings that are not finite
numbers) is refused before anything is written. The check, the images
and the rows are written under the store's lock, so concurrent writers (threads or
processes) each get all their rows in, or a clear refusal. A sample is identified by
(target class, seed), id `c<class>-s<seed>`; a DDA variation by `<source id>-v<k>`."""

import json
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import torch

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.errors import DfkdError
from dfkd_core.io import atomic_write, json_text

from . import rows as R
from .batch import to_uint8
from .images import encode_png, read_images


def _check_batch(batch, class_names, root: Path):
    """Targets within the classes, finite probabilities in [0, 1] (a bad one would not read back)."""
    targets, probs = torch.as_tensor(batch.targets), torch.as_tensor(batch.probs)
    beyond = (targets < 0) | (targets >= len(class_names))
    if beyond.any():
        raise DfkdError(f"{root}: refused to add samples with target {int(targets[beyond][0])}: the teacher names "
                        f"{len(class_names)} classes (targets 0 to {len(class_names) - 1}). Nothing was written.")
    if probs.ndim != 2 or len(probs) != len(targets) or not (torch.isfinite(probs) & (probs >= 0) & (probs <= 1)).all():
        raise DfkdError(f"{root}: refused to add samples whose teacher probabilities are not numbers from 0 to 1 "
                        "(NaN: the teacher or the images broke down). Nothing was written.")


class SampleStore:
    def __init__(self, root):
        self.root = Path(root)
        self.images_dir = self.root / "images"

    @property
    def manifest_path(self) -> Path:
        """The file listing the samples: metadata.csv (manifest.csv in a store from before it)."""
        return R.rows_path(self.root)

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> pd.DataFrame:
        """One checked row per sample (rows.COLUMNS), in the order they were added."""
        return R.read_rows(self.root)

    def settings(self) -> dict:
        """{settings id: the settings samples were made with}."""
        return R.read_settings(self.root)

    def existing_keys(self) -> set[tuple[int, int]]:
        """(target, seed) of the samples that are not DDA variations."""
        df = self.manifest()
        df = df[df["variation"] == 0]
        return set(zip(df["target"].astype(int), df["seed"].astype(int)))

    def add(self, batch, class_names, settings: dict, overrides: list[dict] | None = None,
            replace: bool = False) -> pd.DataFrame:
        """Write a LabelledBatch; returns its rows. overrides: one dict of column values per
        sample (e.g. id, source_id, variation, strength, method for DDA). Ids already in the
        store are refused (DfkdError, nothing written) unless `replace`."""
        n = len(batch.seeds)
        _check_batch(batch, class_names, self.root)
        rows = R.stored_frame([self._row(batch, i, class_names, extra)
                               for i, extra in zip(range(n), overrides or [{}] * n)])
        ids = rows["id"].tolist()
        bad = [i for i in ids if not re.fullmatch(R.SAFE_ID, str(i)) or ".." in str(i)]
        if bad or len(set(ids)) != n:
            raise DfkdError(f"Sample ids must be distinct plain names (letters, digits, . _ -); got {bad or ids}.")
        sid = R.settings_id(settings)  # NaN in the settings is refused here, before anything is written
        R.check_new(self.root, rows.assign(settings_id=sid), {sid: settings})
        pngs = [encode_png(a) for a in to_uint8(batch.images)]  # outside the lock: the slow part
        with R.locked(self.root):
            R.upgrade(self.root)
            taken = self._taken(ids)
            if taken and not replace:
                raise self._clash(taken, variations=bool((rows["variation"].astype(int) > 0).any()))
            rows["settings_id"] = R.register_settings(self.root, [settings])[0]
            for file, data in zip(rows["file_name"], pngs):
                atomic_write(self.root / file, lambda tmp, data=data: Path(tmp).write_bytes(data))
            if taken:  # replacing is the one rewrite of every row
                old = self.manifest()
                R.rewrite(self.root, pd.concat([old[~old["id"].isin(taken)], rows], ignore_index=True))
            else:
                R.append(self.root, rows)
        rows["file"], rows["settings"] = rows["file_name"], json.dumps(settings, sort_keys=True)
        return rows[R.COLUMNS]

    @staticmethod
    def _row(batch, i: int, class_names, extra: dict) -> dict:
        y, seed, probs = int(batch.targets[i]), batch.seeds[i], batch.probs[i]
        sid = extra.get("id", f"c{y:03d}-s{seed}")
        return {"id": sid, "file_name": f"images/{sid}.png", "target": y, "class_name": class_names[y],
                "seed": seed, "method": batch.method, "teacher_prob": round(float(probs[y]), 6),
                "teacher_pred": int(probs.argmax()), "teacher_probs": ";".join(f"{p:.5f}" for p in probs.tolist()),
                "cutmix": json_text(batch.records[i] if batch.records else [], f"sample {sid}: cutmix"),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "source_id": sid, "variation": 0, "strength": 0.0,
                **extra}

    def _taken(self, ids) -> list[str]:
        """The ids already listed. Only ids whose image exists can be (a stat each), so the
        common case reads no rows; an image left by a writer that died is not listed."""
        maybe = [i for i in ids if (self.images_dir / f"{i}.png").exists()]
        if not maybe:
            return []
        listed = set(self.manifest()["id"])
        return [i for i in maybe if i in listed]

    def _clash(self, taken, variations: bool) -> DfkdError:
        if variations:
            what = ("To replace them, overwrite explicitly (dfkd augment --overwrite); to keep both, write the new "
                    "variations to another set.")
        else:
            what = f"Make them with other seeds (the next unused seed here is {self.unused_seed()}), or add them to " \
                   "another set."
        return DfkdError(f"{self.root} already holds {len(taken)} of these samples ({', '.join(taken[:5])}"
                         f"{' ...' if len(taken) > 5 else ''}): adding them would replace the earlier ones, so "
                         f"nothing was added. {what}")

    def unused_seed(self) -> int:
        """One more than the largest seed in the store (0 when empty): from it on, no id is taken."""
        seeds = self.manifest()["seed"]
        return int(seeds.max()) + 1 if len(seeds) else 0

    def copy_to(self, ids, dest) -> "SampleStore":
        """A new store at `dest` holding the samples `ids` (images and rows); resumable."""
        dest = SampleStore(dest)
        if dest.root.resolve() == self.root.resolve():
            raise DfkdError(f"Cannot copy {self.root} onto itself; choose another folder.")
        df = self.manifest()
        df = df[df["id"].isin(set(ids))]
        with R.locked(dest.root):
            R.upgrade(dest.root)
            df = df[~df["id"].isin(set(dest.manifest()["id"]))].copy()
            for file in df["file_name"]:
                atomic_write(dest.root / file, lambda tmp, src=self.root / file: shutil.copyfile(src, tmp))
            texts = list(df["settings"].unique())
            ids_of = dict(zip(texts, R.register_settings(dest.root, [json.loads(t or "{}") for t in texts])))
            df["settings_id"] = df["settings"].map(ids_of)
            if len(df):
                R.append(dest.root, df)
        return dest

    def read_files(self, files) -> torch.Tensor:
        """The images of these files (relative to the store), as floats in [0, 1], (N, C, H, W)."""
        return torch.from_numpy(read_images(self.root, files)).float().div(255)

    def load(self, ids=None) -> ImageDataset:
        """The stored images (labels = target class) as an ImageDataset."""
        df = self.manifest()
        if ids is not None:
            df = df[df["id"].isin(list(ids))]
        if df.empty:
            raise DfkdError(f"No samples in {self.root}.")
        try:
            names = json.loads(df["settings"].iloc[0] or "{}").get("class_names")
        except (ValueError, AttributeError):
            names = None
        names = names or sorted(set(df["class_name"]))
        R.check_targets(self.root, df, len(names), "the store's")
        images = read_images(self.root, df["file_name"])
        labels = torch.tensor(df["target"].to_numpy(dtype="int64", copy=True))
        return ImageDataset(torch.from_numpy(images), labels, names, str(self.root))

    def images(self, ids) -> torch.Tensor:
        """The images of `ids`, in that order, as floats in [0, 1], (N, C, H, W)."""
        files = self.manifest().set_index("id")["file_name"]
        missing = [i for i in ids if i not in files.index]
        if missing:
            raise DfkdError(f"{self.root} has no samples {missing[:5]}{' ...' if len(missing) > 5 else ''}.")
        return self.read_files([files[i] for i in ids])
