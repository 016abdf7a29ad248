"""The rows of a sample store: metadata.csv, one line per sample, only ever appended to
(a batch is one write, under an exclusive lock on the store's .store.lock, so concurrent
writers, threads or processes, never lose a row). The settings of the samples are written
once per store, in settings.json ({settings id: settings}); each row names its settings id.
`file_name` is the image's path inside the store, so the folder loads with Hugging Face
datasets: load_dataset("imagefolder", data_dir=store).

Stores written before this layout have manifest.csv (a `file` column and the settings
repeated as JSON on every row); they read as they are and are converted to this layout
the first time something is added. Every row is checked when read: a damaged one is
named (file, line, sample id) in a DfkdError that says what to do."""

import contextlib
import fcntl
import hashlib
import io
import json
from pathlib import Path

import pandas as pd

from dfkd_core.errors import DfkdError
from dfkd_core.io import atomic_write, write_json

ROWS, LEGACY, SETTINGS, LOCK = "metadata.csv", "manifest.csv", "settings.json", ".store.lock"
STORED = ["file_name", "id", "target", "class_name", "seed", "method", "teacher_prob", "teacher_pred",
          "teacher_probs", "cutmix", "settings_id", "created", "source_id", "variation", "strength"]
# What SampleStore.manifest() returns: the columns of the old manifest, then the new ones.
COLUMNS = ["id", "file", "target", "class_name", "seed", "method", "teacher_prob", "teacher_pred",
           "teacher_probs", "cutmix", "settings", "created", "source_id", "variation", "strength",
           "file_name", "settings_id"]
SAFE_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
SAFE_FILE = rf"{SAFE_ID}(/{SAFE_ID})*"  # relative, no '..', inside the store
INTEGERS = {"target": 0, "seed": None, "teacher_pred": 0, "variation": 0}  # column: lowest value
FRACTIONS = ("teacher_prob", "strength")  # in [0, 1]


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
    """A content hash (so two stores agree on it), starting with a letter so CSV readers keep it text."""
    return "s" + hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


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


def _bad_row(path: Path, df: pd.DataFrame, i: int, column: str, expected: str) -> DfkdError:
    sample = df["id"].iloc[i] if "id" in df else "?"
    return DfkdError(f"{path}, line {i + 2} (sample '{sample}'): {column} is {df[column].iloc[i]!r}, expected "
                     f"{expected}. The row is damaged: delete that line (and its image) and rerun the command that "
                     "made the store to remake it, or start a new store.")


def _checked(df: pd.DataFrame, path: Path, registry: dict) -> pd.DataFrame:
    """Typed columns, every row checked; the last row of an id wins."""
    missing = [c for c in ("id", "target", "seed") if c not in df] + ([] if {"file", "file_name"} & set(df) else
                                                                       ["file_name"])
    if missing:
        raise DfkdError(f"{path} lacks the columns {missing}: it is not a sample store's list of samples.")
    df["file_name"] = df["file_name"] if "file_name" in df else df["file"]
    df["file"] = df["file_name"]
    for column, pattern in (("id", SAFE_ID), ("file_name", SAFE_FILE)):
        bad = ~df[column].str.fullmatch(pattern) | df[column].str.contains("..", regex=False)
        if bad.any():
            raise _bad_row(path, df, int(bad.to_numpy().argmax()), column, "a plain name inside the store")
    defaults = {"source_id": df["id"], "variation": "0", "strength": "0", "teacher_prob": "0",
                "teacher_pred": "0", "class_name": df["target"], "method": "", "teacher_probs": "",
                "cutmix": "[]", "created": ""}
    for column, value in defaults.items():
        if column not in df:
            df[column] = value
    for column, low in INTEGERS.items():
        values = pd.to_numeric(df[column], errors="coerce")
        bad = values.isna() | (values != values.round()) | ((values < low) if low is not None else False)
        if bad.any():
            raise _bad_row(path, df, int(bad.to_numpy().argmax()), column, "a whole number" +
                           (f" >= {low}" if low is not None else ""))
        df[column] = values.astype("int64")
    for column in FRACTIONS:
        values = pd.to_numeric(df[column], errors="coerce")
        bad = ~values.between(0, 1)
        if bad.any():
            raise _bad_row(path, df, int(bad.to_numpy().argmax()), column, "a number from 0 to 1")
        df[column] = values.astype("float64")
    if "settings_id" in df:
        known = df["settings_id"].isin(list(registry))
        if not known.all():
            raise _bad_row(path, df, int((~known).to_numpy().argmax()), "settings_id",
                           f"one of the settings ids in {path.parent / SETTINGS}")
        text = {k: json.dumps(v, sort_keys=True) for k, v in registry.items()}
        df["settings"] = df["settings_id"].map(text)
    else:  # the old layout: settings inline
        df["settings"] = df["settings"] if "settings" in df else "{}"
        df["settings_id"] = ""
    return df.drop_duplicates("id", keep="last").reset_index(drop=True)[COLUMNS]


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
    return _checked(df, path, read_settings(root) if path.name == ROWS else {})


def stored_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=STORED)


def append(root: Path, rows: pd.DataFrame):
    """Append rows (STORED columns) in one write (hold the lock)."""
    path = root / ROWS
    _repair_tail(path)
    header = not path.exists() or path.stat().st_size == 0
    data = rows[STORED].to_csv(index=False, header=header).encode()
    with open(path, "ab") as f:
        f.write(data)


def rewrite(root: Path, rows: pd.DataFrame):
    """All the rows, replaced at once (hold the lock): only to replace samples, or to convert a store."""
    atomic_write(root / ROWS, lambda tmp: rows[STORED].to_csv(tmp, index=False), suffix=".csv")


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
