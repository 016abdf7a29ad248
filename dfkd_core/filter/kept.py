"""What the Filter tab asks of the engine beyond the scores: exporting the kept samples as a
new named sample set (never into one that exists), and saying when a threshold can change
nothing on the chosen set (ω only ever drops variations: a set without any is unaffected)."""

import pandas as pd

from dfkd_core.errors import DfkdError
from dfkd_core.paths import sample_set_path
from dfkd_core.store import SampleStore

from .scores import export_kept


def export_kept_set(store: SampleStore, scores: pd.DataFrame, name: str) -> SampleStore:
    """The kept samples of `scores` as the new sample set `name`; an existing set of that name is
    refused, never added to or replaced."""
    dest = sample_set_path(name)
    if SampleStore(dest).exists():
        raise DfkdError(f"Sample set '{name}' already exists; choose a new name.")
    return export_kept(store, scores, dest)


def idle_thresholds(scores: pd.DataFrame) -> list[str]:
    """A sentence for each threshold that cannot change what is kept in this set."""
    notes = []
    if not (scores["variation"] > 0).any():
        notes.append("ω changes nothing on this set: it holds no variations, and ω only drops a variation that "
                     "drifted from its source (sources are always kept). Make variations in the Variations tab, "
                     "or filter with τ.")
    return notes
