"""The panel applied to a sample store (a folder with manifest.csv and images/)."""

import torch

from dfkd_core.errors import DfkdError

MAX_SAMPLES = 100_000  # images judged at once (32x32 floats: 400 MB)


def store_samples(store, limit: int = MAX_SAMPLES) -> tuple[torch.Tensor, torch.Tensor, list]:
    """(images in [0, 1], targets, ids) of every sample in the store, in manifest order."""
    df = store.manifest()
    if df.empty:
        raise DfkdError(f"No samples in {store.root}: its manifest lists none.")
    if len(df) > limit:
        raise DfkdError(f"{store.root} holds {len(df)} samples; judge at most {limit} at once "
                        "(copy a subset to a new store first).")
    ids = df["id"].astype(str).tolist()
    return store.images(ids), torch.as_tensor(df["target"].to_numpy(dtype="int64", copy=True)), ids


def judge_store(store, panel) -> dict:
    """panel.judge on every sample of `store`, with the store's folder recorded."""
    images, targets, _ = store_samples(store)
    return {"store": str(store.root), **panel.judge(images, targets)}
