"""Per-sample scores of a sample store, and the DDA filter (keep a variation when it still
looks like its source and the teacher is confident about it).

The scores frame has one row per sample of the store, in manifest order:

| column | meaning |
|---|---|
| id | the sample's id |
| source_id | the sample a DDA variation was made from (a source's own id) |
| variation | k >= 1 for the k-th variation of its source, 0 for a source |
| target, class_name | the class the sample was made for |
| teacher_prob | the teacher's probability of the target class: the confidence compared with τ |
| entropy | entropy of the teacher's probabilities (nats) |
| teacher_pred | the teacher's predicted class |
| cosine | cos(embedding of the sample, embedding of its source), 6 decimals; 1 for a source; NaN when the source is not in the store |
| kept | cosine >= ω and teacher_prob >= τ (a NaN cosine counts as -1, so ω = -1 keeps every sample) |

`scores.attrs` holds omega, tau and the embedding used. The embedding is the teacher's
penultimate features (default) or CLIP image embeddings (`transformers`
CLIPVisionModelWithProjection from a local folder). Teacher outputs and embeddings are
cached per sample by the store's feature cache (dfkd_core.store.features; default:
<store>/embeddings/), keyed by the model and by each image file's size and time, so changing ω or τ (`apply_thresholds`) never
recomputes them, and an interrupted computation resumes."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dfkd_core.errors import DfkdError
from dfkd_core.io import check_output, csv_header, write_output
from dfkd_core.models.clip_image import ClipImageEncoder, folder_fingerprint
from dfkd_core.store import SampleStore
from dfkd_core.store.features import (  # noqa: F401 - public here before the store layer
    cached_rows,
    stamps,
    store_batch,
    teacher_cache,
    teacher_fingerprint,
    teacher_outputs,
)
from dfkd_core.store.rows import check_targets

EMBEDDINGS = ("teacher", "clip")
COLUMNS = ["id", "source_id", "variation", "target", "class_name", "teacher_prob", "entropy", "teacher_pred",
           "cosine", "kept"]


@dataclass
class Features:
    ids: list
    probs: np.ndarray  # (N, K) teacher probabilities
    embeddings: np.ndarray  # (N, D) what the cosine is taken on
    embedding: str  # "teacher" or "clip"


def compute_features(store: SampleStore, teacher, embedding: str = "teacher", clip_model=None, cache_dir=None,
                     batch_size: int = 256, progress=None, should_stop=None) -> Features:
    """Teacher probabilities and the chosen embedding of every sample of the store (cached)."""
    if embedding not in EMBEDDINGS:
        raise DfkdError(f"Embedding must be one of {EMBEDDINGS}, got '{embedding}'.")
    if embedding == "clip" and not clip_model:
        raise DfkdError("The CLIP embedding needs a local CLIPVisionModelWithProjection folder (clip_model).")
    df = store.manifest()
    if df.empty:
        raise DfkdError(f"No samples in {store.root}: nothing to score.")
    check_targets(store.root, df, teacher.num_classes, "the teacher's")  # before any teacher pass
    ids, row_stamps = df["id"].tolist(), stamps(store.root, df["file_name"])
    file_of = dict(zip(ids, df["file_name"]))

    def images(chunk):  # by file: one read of the rows for the whole computation
        return store.read_files([file_of[i] for i in chunk])

    cache = Path(cache_dir or store.root / "embeddings")
    out = cached_rows(teacher_cache(cache, teacher), ids, row_stamps,
                      lambda chunk: teacher_outputs(teacher, images(chunk)), batch_size, progress, should_stop)
    emb = out["features"]
    if embedding == "clip":
        encoder = {}

        def run_clip(chunk):  # the model loads only when something is missing from the cache
            if "m" not in encoder:
                encoder["m"] = ClipImageEncoder.from_folder(clip_model, device=teacher.device)
            return {"embeddings": encoder["m"](images(chunk)).cpu().numpy()}

        key = folder_fingerprint(clip_model)[:16]
        emb = cached_rows(cache / f"clip-{key}.safetensors", ids, row_stamps, run_clip, batch_size, progress,
                          should_stop)["embeddings"]
    return Features(ids, out["probs"], emb, embedding)


def cosine_to_sources(embeddings: np.ndarray, ids, source_ids) -> np.ndarray:
    """Cosine of each row with the row of its source (NaN: source absent), rounded to 6
    decimals so that the same image scores exactly 1 whatever the float rounding of its
    batch (batched matrix products differ in the last bits from row to row)."""
    emb = np.asarray(embeddings, dtype=np.float64)
    pos = {i: j for j, i in enumerate(ids)}
    src = np.array([pos.get(s, -1) for s in source_ids])
    unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    cos = np.full(len(emb), np.nan)
    ok = src >= 0
    cos[ok] = np.clip((unit[ok] * unit[src[ok]]).sum(1), -1.0, 1.0)
    return cos.round(6)


def paired_cosines(teacher, images: torch.Tensor, sources: torch.Tensor) -> np.ndarray:
    """Cosine of the teacher features of images[i] and sources[i] (for previews; not cached)."""
    pair = np.concatenate([teacher_outputs(teacher, x)["features"] for x in (images, sources)])
    n = len(images)
    sources_of = [n + i for i in range(n)] * 2  # image i -> row n + i; the sources are their own
    return cosine_to_sources(pair, list(range(2 * n)), sources_of)[:n]


def scores_frame(manifest: pd.DataFrame, features: Features, omega: float = -1.0, tau: float = 0.0) -> pd.DataFrame:
    if list(manifest["id"]) != list(features.ids):
        raise DfkdError("The features do not match the store's samples; compute them again.")
    probs, targets = features.probs, manifest["target"].to_numpy(dtype=int)
    df = manifest[["id", "source_id", "variation", "target", "class_name"]].reset_index(drop=True).copy()
    df["teacher_prob"] = probs[np.arange(len(df)), targets]
    df["entropy"] = -(probs * np.log(np.clip(probs, 1e-12, None))).sum(1)
    df["teacher_pred"] = probs.argmax(1)
    df["cosine"] = cosine_to_sources(features.embeddings, features.ids, df["source_id"])
    df.attrs["embedding"] = features.embedding
    return apply_thresholds(df, omega, tau)


def apply_thresholds(scores: pd.DataFrame, omega: float, tau: float) -> pd.DataFrame:
    """The kept flags for ω (cosine) and τ (confidence); nothing else is recomputed."""
    if not -1.0 <= omega <= 1.0 or not 0.0 <= tau <= 1.0:
        raise DfkdError(f"ω (cosine threshold) must be in [-1, 1] and τ (confidence) in [0, 1]; got {omega}, {tau}.")
    out = scores.copy()
    out["kept"] = (out["cosine"].fillna(-1.0) >= omega) & (out["teacher_prob"] >= tau)
    out.attrs.update(omega=omega, tau=tau)
    return out


def class_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """Per class: samples, kept, dropped, and how many of them are variations."""
    g = scores.assign(is_variation=scores["variation"] > 0,
                      kept_variation=(scores["variation"] > 0) & scores["kept"]).groupby(["target", "class_name"])
    counts = g.agg(total=("id", "size"), kept=("kept", "sum"), variations=("is_variation", "sum"),
                   kept_variations=("kept_variation", "sum")).reset_index()
    counts["dropped"] = counts["total"] - counts["kept"]
    return counts[["target", "class_name", "total", "kept", "dropped", "variations", "kept_variations"]]


def score_store(store: SampleStore, teacher, omega: float = -1.0, tau: float = 0.0, **kw) -> pd.DataFrame:
    """compute_features + scores_frame (kw: embedding, clip_model, cache_dir, batch_size, progress, should_stop)."""
    return scores_frame(store.manifest(), compute_features(store, teacher, **kw), omega, tau)


_OURS = csv_header(COLUMNS)  # a scores CSV this project wrote (its exact header): rewriting it needs no asking


def check_scores_path(path, overwrite: bool = False) -> Path:
    """Refuse `path` for the scores when a file the project did not write is there, unless
    overwrite: call it before scoring, so a refusal costs nothing."""
    return check_output(path, overwrite, _OURS)


def write_scores(scores: pd.DataFrame, path, overwrite: bool = False) -> Path:
    """The scores as CSV at `path` (atomically); an existing file there is replaced only when it is
    an earlier scores CSV, or with overwrite (`dfkd filter --scores-out PATH --overwrite`)."""
    return write_output(path, scores[COLUMNS].to_csv(index=False), overwrite, _OURS)


def export_kept(store: SampleStore, scores: pd.DataFrame, dest) -> SampleStore:
    """The kept samples as a new store at `dest` (images copied, manifest rows as they were)."""
    kept = scores.loc[scores["kept"], "id"]
    if kept.empty:
        raise DfkdError("No sample is kept at these thresholds: lower ω or τ before exporting.")
    return store.copy_to(kept, dest)
