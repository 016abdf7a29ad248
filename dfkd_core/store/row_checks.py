"""Every row of a sample store checked, the same way when it is read and before it is
written: plain ids and file names inside the store, whole numbers, fractions in [0, 1],
teacher probabilities that are numbers in [0, 1] (one per class), targets within the classes
its settings name, and a known settings id. A damaged row read from disk is named (file,
line, sample id) in a DfkdError that says what to do; a bad row about to be written is
refused before anything is written, so a store only ever holds rows that read back."""

import json
from pathlib import Path

import pandas as pd

from dfkd_core.errors import DfkdError

SETTINGS = "settings.json"
# What SampleStore.manifest() returns: the columns of the old manifest, then the new ones.
COLUMNS = ["id", "file", "target", "class_name", "seed", "method", "teacher_prob", "teacher_pred",
           "teacher_probs", "cutmix", "settings", "created", "source_id", "variation", "strength",
           "file_name", "settings_id"]
SAFE_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
SAFE_FILE = rf"{SAFE_ID}(/{SAFE_ID})*"  # relative, no '..', inside the store
INTEGERS = {"target": 0, "seed": None, "teacher_pred": 0, "variation": 0}  # column: lowest value
FRACTIONS = ("teacher_prob", "strength")  # in [0, 1]
# One probability as the store writes it ("0.12345", "1.00000", or in exponent form): the
# pattern admits no number above 1, no sign, no NaN or infinity.
PROBABILITY = r"(?:0(?:\.\d*)?|\.\d+|1(?:\.0*)?)(?:[eE]-\d+)?"
PROBABILITIES = rf"{PROBABILITY}(?:;{PROBABILITY})*"


def bad_row(path: Path, df: pd.DataFrame, i: int, column: str, expected: str, writing: bool = False) -> DfkdError:
    sample = df["id"].iloc[i] if "id" in df else "?"
    value = df[column].iloc[i]
    value = value.item() if hasattr(value, "item") else value  # 40, not np.int64(40)
    if writing:
        return DfkdError(f"{path}: refused to add sample '{sample}': its {column} is {value!r}, expected {expected}. "
                         "Nothing was written.")
    return DfkdError(f"{path}, line {i + 2} (sample '{sample}'): {column} is {value!r}, expected "
                     f"{expected}. The row is damaged: delete that line (and its image) and rerun the command that "
                     "made the store to remake it, or start a new store.")


def class_count(settings_text: str) -> int:
    """How many classes the settings name (0: they name none)."""
    try:
        names = json.loads(settings_text or "{}").get("class_names")
    except (ValueError, AttributeError):
        return 0
    return len(names) if isinstance(names, list) else 0


def _check_classes(df: pd.DataFrame, path: Path, writing: bool):
    """Targets within the classes of each row's settings, one probability per class."""
    texts = df["settings"].unique()
    counts = df["settings"].map({t: class_count(t) for t in texts}).to_numpy()
    named = counts > 0
    beyond = named & (df["target"].to_numpy() >= counts)
    if beyond.any():
        i = int(beyond.argmax())
        raise bad_row(path, df, i, "target", f"a class index below {counts[i]} (its settings name {counts[i]} "
                      "classes)", writing)
    filled = (df["teacher_probs"] != "").to_numpy()
    probs = df["teacher_probs"].astype(str)
    bad = filled & ~probs.str.fullmatch(PROBABILITIES).to_numpy()
    bad |= filled & named & ((probs.str.count(";") + 1).to_numpy() != counts)
    if bad.any():
        i = int(bad.argmax())
        n = f"{counts[i]} " if named[i] else ""
        raise bad_row(path, df, i, "teacher_probs", f"{n}probabilities from 0 to 1 separated by ';'", writing)


def checked(df: pd.DataFrame, path: Path, registry: dict, writing: bool = False) -> pd.DataFrame:
    """Typed columns (COLUMNS), every row checked; the last row of an id wins. df: the rows
    as text (pd.read_csv(dtype=str)); registry: the store's settings (empty for the old layout)."""
    missing = [c for c in ("id", "target", "seed") if c not in df] + ([] if {"file", "file_name"} & set(df) else
                                                                       ["file_name"])
    if missing:
        raise DfkdError(f"{path} lacks the columns {missing}: it is not a sample store's list of samples.")
    df["file_name"] = df["file_name"] if "file_name" in df else df["file"]
    df["file"] = df["file_name"]
    for column, pattern in (("id", SAFE_ID), ("file_name", SAFE_FILE)):
        bad = ~df[column].str.fullmatch(pattern) | df[column].str.contains("..", regex=False)
        if bad.any():
            raise bad_row(path, df, int(bad.to_numpy().argmax()), column, "a plain name inside the store", writing)
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
            raise bad_row(path, df, int(bad.to_numpy().argmax()), column, "a whole number" +
                          (f" >= {low}" if low is not None else ""), writing)
        df[column] = values.astype("int64")
    for column in FRACTIONS:
        values = pd.to_numeric(df[column], errors="coerce")
        bad = ~values.between(0, 1)
        if bad.any():
            raise bad_row(path, df, int(bad.to_numpy().argmax()), column, "a number from 0 to 1", writing)
        df[column] = values.astype("float64")
    if "settings_id" in df:
        known = df["settings_id"].isin(list(registry))
        if not known.all():
            raise bad_row(path, df, int((~known).to_numpy().argmax()), "settings_id",
                          f"one of the settings ids in {path.parent / SETTINGS}", writing)
        text = {k: json.dumps(v, sort_keys=True) for k, v in registry.items()}
        df["settings"] = df["settings_id"].map(text)
    else:  # the old layout: settings inline
        df["settings"] = df.get("settings", "{}")
        df["settings_id"] = ""
    _check_classes(df, path, writing)
    return df.drop_duplicates("id", keep="last").reset_index(drop=True)[COLUMNS]
