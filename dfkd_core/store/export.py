"""A store as a dataset that leaves the project (`dfkd export`).

hf: DIR/train/images/<id>.png and DIR/train/metadata.jsonl (file_name, label, class_name,
teacher_probs as a list, ...): `datasets.load_dataset("imagefolder", data_dir=DIR)` loads it.
webdataset: DIR/shard-000000.tar, ... of at most `shard_size` samples each; a sample is
<key>.png (the stored PNG bytes), <key>.cls (the label) and <key>.json (the row, with
teacher_probs); DIR/info.json names the shards, the class names and the count, and each
shard's samples and bytes (a distill stage trusts those counts for shards of that size). Keys are
the sample ids ('.' would end a WebDataset key, so it becomes '_')."""

import shutil
from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.io import json_text, write_json

from .images import read_png
from .sample_store import SampleStore

FORMATS = ("hf", "webdataset")
MAX_SHARD = 100_000
INFO = "info.json"


def _record(row) -> dict:
    probs = [float(p) for p in str(row["teacher_probs"]).split(";") if p]
    return {"id": row["id"], "label": int(row["target"]), "class_name": str(row["class_name"]),
            "seed": int(row["seed"]), "method": str(row["method"]), "teacher_prob": float(row["teacher_prob"]),
            "teacher_pred": int(row["teacher_pred"]), "teacher_probs": probs,
            "source_id": str(row["source_id"]), "variation": int(row["variation"])}


def class_names(store: SampleStore, df) -> list[str]:
    """The class names the store's settings record (else the names in its rows, by label)."""
    for settings in store.settings().values():
        if settings.get("class_names"):
            return list(settings["class_names"])
    return [name for _, name in sorted(set(zip(df["target"].astype(int), df["class_name"].astype(str))))]


def _fresh(out: Path) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DfkdError(f"{out} exists and is not an empty folder; export into a new folder (an export is "
                        "written whole, never merged into another).")
    out.mkdir(parents=True, exist_ok=True)
    return out


def export_store(store_dir, fmt: str, out, shard_size: int = 1000, progress=None) -> dict:
    """Write the store at `store_dir` to `out` as `fmt` (FORMATS); returns a summary."""
    store = SampleStore(store_dir)
    if fmt not in FORMATS:
        raise DfkdError(f"Unknown export format '{fmt}'; expected one of {', '.join(FORMATS)}.")
    if not isinstance(shard_size, int) or not 1 <= shard_size <= MAX_SHARD:
        raise DfkdError(f"shard_size must be a whole number from 1 to {MAX_SHARD:,}, got {shard_size!r}.")
    if not store.exists():
        raise DfkdError(f"No sample store at {store.root}: expected a folder holding metadata.csv.")
    df = store.manifest()
    if df.empty:
        raise DfkdError(f"{store.root} holds no samples to export.")
    out = _fresh(Path(out))
    names = class_names(store, df)
    rows = df.to_dict("records")
    write = _hf if fmt == "hf" else _webdataset
    extra = write(store, rows, out, shard_size, progress)
    summary = {"format": fmt, "samples": len(rows), "class_names": names, "store": str(store.root), **extra}
    write_json(out / (INFO if fmt == "webdataset" else "export.json"), summary)
    return summary


def _hf(store: SampleStore, rows, out: Path, shard_size, progress) -> dict:
    split = out / "train"
    (split / "images").mkdir(parents=True)
    with open(split / "metadata.jsonl", "w") as f:
        for i, row in enumerate(rows, 1):
            name = f"images/{row['id']}.png"
            read_png(store.root / row["file_name"])  # a damaged image is named, not exported
            shutil.copyfile(store.root / row["file_name"], split / name)
            f.write(json_text({"file_name": name, **_record(row)}, f"sample '{row['id']}'") + "\n")
            if progress and (i % 1000 == 0 or i == len(rows)):
                progress(i, len(rows))
    return {"data_dir": str(out)}


def _webdataset(store: SampleStore, rows, out: Path, shard_size: int, progress) -> dict:
    import webdataset as wds  # heavy: keeps webdataset off importing store.export
    keys = [str(r["id"]).replace(".", "_") for r in rows]
    if len(set(keys)) != len(keys):
        raise DfkdError(f"{store.root}: two sample ids differ only by '.' and '_'; WebDataset keys would clash.")
    samples = {}  # per shard: a distill stage streaming the shards needs the counts, not every header
    with wds.ShardWriter(str(out / "shard-%06d.tar"), maxcount=shard_size, verbose=0) as sink:
        for i, (key, row) in enumerate(zip(keys, rows), 1):
            read_png(store.root / row["file_name"])  # a damaged image is named, not exported
            png = (store.root / row["file_name"]).read_bytes()
            record = json_text(_record(row), f"sample '{row['id']}'").encode()  # finite numbers only
            sink.write({"__key__": key, "png": png, "cls": int(row["target"]), "json": record})
            name = Path(sink.fname).name
            samples[name] = samples.get(name, 0) + 1
            if progress and (i % 1000 == 0 or i == len(rows)):
                progress(i, len(rows))
    return {"shards": sorted(samples), "shard_size": shard_size, "shard_samples": samples,
            "shard_bytes": {name: (out / name).stat().st_size for name in samples}}
