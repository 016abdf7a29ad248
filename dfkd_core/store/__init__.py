"""The store layer, below every source of images and the filter: LabelledBatch (what a
source hands over), SampleStore (append-only rows, settings once, images) and the
sharded feature cache with store_batch (add a batch and cache its teacher outputs)."""

from . import features, rows
from .batch import LabelledBatch, to_uint8
from .features import store_batch
from .rows import COLUMNS
from .sample_store import SampleStore


def is_store(folder) -> bool:
    """Whether `folder` holds a sample store (metadata.csv, or manifest.csv from before it)."""
    return SampleStore(folder).exists()


__all__ = ["COLUMNS", "LabelledBatch", "SampleStore", "features", "is_store", "rows", "store_batch", "to_uint8"]
