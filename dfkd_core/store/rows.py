"""The rows of a sample store: metadata.csv, one line per sample, only ever appended to
(a batch is one write, under an exclusive lock on the store's .store.lock, so concurrent
writers, threads or processes, never lose a row). The settings of the samples are written
once per store, in settings.json ({settings id: settings}); each row names its settings id.
`file_name` is the image's path inside the store, so the folder loads with Hugging Face
datasets: load_dataset("imagefolder", data_dir=store).

Stores written before this layout have manifest.csv (a `file` column and the settings
repeated as JSON on every row); they read as they are and are converted to this layout
the first time something is added. Every row is checked when read (row_checks.py): a
damaged one is named (file, line, sample id) in a DfkdError that says what to do; and the
same checks run before rows are written, so a store never takes a row it would refuse."""

import contextlib
import fcntl
import hashlib
import io
import json
from pathlib import Path

import pandas as pd

from dfkd_core.errors import DfkdError
from dfkd_core.io import atomic_write, json_text, write_json

from .row_checks import COLUMNS, SAFE_FILE, SAFE_ID, SETTINGS, checked  # noqa: F401 - the store's names

ROWS, LEGACY, LOCK = "metadata.csv", "manifest.csv", ".store.lock"
STORED = ["file_name", "id", "target", "class_name", "seed", "method", "teacher_prob", "teacher_pred",
          "teacher_probs", "cutmix", "settings_id", "created", "source_id", "variation", "strength"]


def rows_path(root: Path) -> Path:
    """metadata.csv, or manifest.csv for a store from before it (until something is added)."""
    return root / LEGACY if not (root / ROWS).exists() and (root / LEGACY).exists() else root / ROWS


@contextlib.contextmanager
def locked(root: Path):
    """The store's write lock (flock works across processes and, one open file per
    holder, across threads)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def settings_id(settings: dict) -> str:
    """A content hash (so two stores agree on it), starting with a letter so CSV readers keep it text.
    Settings holding NaN or infinity are refused: settings.json would not be JSON."""
    try:
        text = json_text(settings, "the settings of the samples", sort_keys=True)
    except ValueError as e:
        raise DfkdError(f"{e} A sample store records finite settings only: fix that setting.") from None
    return "s" + hashlib.sha1(text.encode()).hexdigest()[:12]


def read_settings(root: Path) -> dict:
    path = root / SETTINGS
    if not path.exists():
        return {}
    try:
        registry = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise DfkdError(f"{path} is not readable JSON ({e}); restore it from a copy of the store.") from None
    if not isinstance(registry, dict) or not all(isinstance(v, dict) for v in registry.values()):
        raise DfkdError(f"{path} must map settings ids to settings; restore it from a copy of the store.")
    return registry


def register_settings(root: Path, settings_list) -> list[str]:
    """Ids of `settings_list`, adding the new ones to settings.json (hold the lock)."""
    registry, ids = read_settings(root), []
    fresh = False
    for settings in settings_list:
        ids.append(settings_id(settings))
        if ids[-1] not in registry:
            registry[ids[-1]], fresh = json.loads(json.dumps(settings, sort_keys=True)), True
    if fresh:
        write_json(root / SETTINGS, registry)
    return ids


def read_rows(root: Path) -> pd.DataFrame:
    """Every row of the store, checked and typed (COLUMNS)."""
    path = rows_path(root)
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    data = path.read_bytes()
    data = data[:data.rfind(b"\n") + 1]  # an unfinished last line is a write in progress (or torn): not a row yet
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=COLUMNS)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise DfkdError(f"{path} is not a readable list of samples ({e}). Delete the damaged line and rerun the "
                        "command that made the store to remake its sample, or start a new store.") from None
    return checked(df, path, read_settings(root) if path.name == ROWS else {})


def stored_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=STORED)


def check_new(root: Path, rows: pd.DataFrame, registry: dict | None = None) -> str:
    """The rows (STORED columns) as CSV text, after the checks of a read (row_checks): a row
    that would not read back is refused before anything is written. registry: the settings
    the rows name (default: the store's settings.json)."""
    text = rows[STORED].to_csv(index=False)
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    checked(df, root / ROWS, read_settings(root) if registry is None else registry, writing=True)
    return text


def append(root: Path, rows: pd.DataFrame):
    """Append rows (STORED columns) in one write, checked first (hold the lock)."""
    path = root / ROWS
    text = check_new(root, rows)
    _repair_tail(path)
    if path.exists() and path.stat().st_size > 0:
        text = text[text.index("\n") + 1:]  # the header is there already
    with open(path, "ab") as f:
        f.write(text.encode())


def rewrite(root: Path, rows: pd.DataFrame):
    """All the rows, checked, replaced at once (hold the lock): only to replace samples, or to convert a store."""
    text = check_new(root, rows)
    atomic_write(root / ROWS, lambda tmp: Path(tmp).write_text(text), suffix=".csv")


def check_targets(root: Path, df: pd.DataFrame, classes: int, whose: str):
    """Refuse rows (read_rows' frame) whose target is not one of `classes` classes (whose:
    "the teacher's"), naming the file, line and sample: an IndexError deep in a computation
    would name none of them."""
    beyond = (df["target"] < 0) | (df["target"] >= classes)
    if beyond.any():
        sample, target = df.loc[beyond, "id"].iloc[0], df.loc[beyond, "target"].iloc[0]
        raise DfkdError(f"{line_of(root, sample)} (sample '{sample}'): target {target} is not one of {whose} "
                        f"{classes} classes (0 to {classes - 1}). Delete that line (and its image) if it is damaged; "
                        "if the store was made for another teacher, use that teacher.")


def line_of(root: Path, sample_id: str) -> str:
    """'FILE, line N' of the row a sample's values come from (its last row), for messages
    about a row that reads but does not fit what reads it (a target beyond the teacher's classes)."""
    path = rows_path(root)
    try:
        ids = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["id"])["id"]
        return f"{path}, line {int((ids == sample_id).to_numpy().nonzero()[0][-1]) + 2}"
    except (OSError, ValueError, IndexError, pd.errors.ParserError):
        return str(path)


def _repair_tail(path: Path):
    """Drop the unfinished last line of a writer that died mid-append (its image is then
    unlisted, and made again on resume)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, io.SEEK_END)
        if f.read(1) != b"\n":
            f.seek(0)
            f.truncate(f.read().rfind(b"\n") + 1)


def upgrade(root: Path):
    """Convert an old store (manifest.csv, or a metadata.csv in another column layout) to
    this one, once (hold the lock)."""
    path = rows_path(root)
    if not path.exists():
        return
    with open(path, "rb") as f:
        header = f.readline().decode(errors="replace").strip()
    if path.name == ROWS and header == ",".join(STORED):
        return
    df = read_rows(root)
    texts = list(df["settings"].unique())
    try:
        ids = register_settings(root, [json.loads(t or "{}") for t in texts])
    except ValueError as e:
        raise DfkdError(f"{path}: a row's settings are not readable JSON ({e}); fix or delete that row.") from None
    df["settings_id"] = df["settings"].map(dict(zip(texts, ids)))
    rewrite(root, df)
    if path.name == LEGACY:
        path.unlink()
