"""The panel applied to a sample store (a folder with metadata.csv and images/), and its
figures written where the user asks: grid.png and judges.json, never over a file the
project did not write."""

from pathlib import Path

import torch

from dfkd_core.errors import DfkdError
from dfkd_core.io import check_output, json_bytes, write_outputs
from dfkd_core.store.rows import check_targets

from .grid import check_grid, grid_png

MAX_SAMPLES = 100_000  # images judged at once (32x32 floats: 400 MB)
GRID, FIGURES = "grid.png", "judges.json"


def store_samples(store, limit: int = MAX_SAMPLES, classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor, list]:
    """(images in [0, 1], targets, ids) of every sample in the store, in manifest order.
    classes: the judges' class count; a row beyond it is named (file, line, id)."""
    df = store.manifest()
    if df.empty:
        raise DfkdError(f"No samples in {store.root}: its manifest lists none.")
    if len(df) > limit:
        raise DfkdError(f"{store.root} holds {len(df)} samples; judge at most {limit} at once "
                        "(copy a subset to a new store first).")
    if classes is not None:
        check_targets(store.root, df, classes, "the judges'")
    ids = df["id"].astype(str).tolist()
    return store.images(ids), torch.as_tensor(df["target"].to_numpy(dtype="int64", copy=True)), ids


def judge_store(store, panel) -> dict:
    """panel.judge on every sample of `store`, with the store's folder recorded."""
    images, targets, _ = store_samples(store, classes=len(panel.class_names))
    return {"store": str(store.root), **panel.judge(images, targets)}


def judgement_folder(store, out=None) -> Path:
    """Where a store's judgement goes: `out`, else STORE-judges beside the store (not inside
    it: a store folder holds only its samples, so it loads as an image dataset)."""
    root = Path(store.root).resolve()
    return Path(out) if out else root.with_name(root.name + "-judges")


def check_judgement_folder(folder, overwrite: bool = False) -> Path:
    """Refuse, before any judging, a folder whose grid.png or judges.json the project did not write."""
    folder = Path(folder)
    for name in (GRID, FIGURES):
        check_output(folder / name, overwrite)
    return folder


def write_judgement(folder, result: dict, images, targets, class_names: list, columns: int = 10, scale: int = 3,
                    overwrite: bool = False) -> tuple[Path, Path]:
    """grid.png and judges.json (the figures, with the grid's path) in `folder`; both are
    checked before either is written. Returns their paths."""
    folder = Path(folder)
    check_grid(columns, scale)
    grid, figures = folder / GRID, folder / FIGURES
    data = json_bytes({**result, "grid": str(grid)}, str(figures), default=str)
    write_outputs({grid: grid_png(images, targets, class_names, columns, scale), figures: data}, overwrite)
    return grid, figures
