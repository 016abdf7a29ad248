"""Reader for the IDX format of (Fashion-)MNIST, plain or gzipped."""

import gzip
from pathlib import Path

import numpy as np

from dfkd_core.errors import DfkdError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DfkdError(f"Could not read IDX file {path}: {e}. Expected an intact (optionally gzipped) IDX file.")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DfkdError(f"{path} is not an IDX file (bad magic number).")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=_DTYPES[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DfkdError(f"{path} is truncated: header says {dims}, found {data.size} values.")
    return data.reshape(dims)
