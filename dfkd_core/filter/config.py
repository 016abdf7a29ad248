"""The filter's settings, declared once: the app, the CLI and the `filter` stage read them here."""

from dataclasses import dataclass

from dfkd_core.settings import setting

EMBEDDINGS = ("teacher", "clip")


@dataclass
class FilterSettings:
    omega: float = setting(0.9, "ω: keep a variation when the cosine of its embedding to its source's is at least "
                           "this (raise it to keep only close variations; sources are always kept)", low=-1, high=1)
    tau: float = setting(0.0, "τ: keep a sample only when the teacher's probability of its class is at least this",
                         low=0, high=1)
    embedding: str = setting("teacher", "the space of the cosine: the teacher's penultimate features, or CLIP's "
                             "image embedding", choices=EMBEDDINGS)
    clip_model: str | None = setting(None, "CLIP model folder or hub id (embedding clip)")
    batch_size: int = setting(256, "images embedded at once", low=1, high=4096)
