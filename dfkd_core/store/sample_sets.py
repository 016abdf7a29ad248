"""What the Samples tab asks of the engine: guided samples beside unguided ones on the
same seeds, streamed previews, and adding a batch to a named sample set."""

from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.paths import sample_set_path
from dfkd_core.store import SampleStore, is_store


def open_sample_set(name_or_path: str) -> SampleStore:
    """A store folder (holding metadata.csv, or manifest.csv from before it), or the name of
    one of the app's sample sets."""
    path = Path(name_or_path)
    if not is_store(path) and "/" not in name_or_path:
        path = sample_set_path(name_or_path)
    if not is_store(path):
        raise DfkdError(f"No sample store at '{name_or_path}': expected a folder holding metadata.csv "
                        "(e.g. the --out of `dfkd generate`) or the name of a sample set.")
    return SampleStore(path)


def unused_seed(name: str, root=None) -> int:
    """The first seed of a batch that the set `name` cannot already hold (0 for a new set):
    the engine's default seed for the Samples tab, so that adding never clashes."""
    path = sample_set_path(name, root)
    return SampleStore(path).unused_seed() if is_store(path) else 0
