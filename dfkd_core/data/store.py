"""The sample store moved to dfkd_core.store (the layer below sources and the filter);
this name keeps working for the code that imports it from here."""

from ..store import COLUMNS, LabelledBatch, SampleStore, is_store, store_batch, to_uint8

__all__ = ["COLUMNS", "LabelledBatch", "SampleStore", "is_store", "store_batch", "to_uint8"]
