"""PNG files of a store: encoded once when added, decoded with checks when read, so a
corrupt, truncated or odd-sized file is named in a DfkdError instead of a traceback."""

import io
from pathlib import Path

import numpy as np
from PIL import Image

from dfkd_core.errors import DfkdError

MAX_SIDE = 4096  # a store holds training images; anything larger is not one of ours
MODES = {"L": 1, "RGB": 3}


def encode_png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _damaged(path: Path, why: str) -> DfkdError:
    return DfkdError(f"{path}: {why}. The image is damaged: delete it and its row in the store's metadata.csv "
                     "(rerunning the command that made it remakes it), or restore the file.")


def read_png(path: Path) -> np.ndarray:
    """(H, W, C) uint8 of one stored image, checked."""
    try:
        with Image.open(path) as im:
            if im.format != "PNG":
                raise _damaged(path, f"not a PNG file ({im.format})")
            if max(im.size) > MAX_SIDE:
                raise _damaged(path, f"{im.size[0]}x{im.size[1]} pixels, larger than {MAX_SIDE} a side")
            if im.mode not in MODES:
                raise _damaged(path, f"mode {im.mode}; the store writes grey (L) or RGB images")
            im.load()
            array = np.asarray(im)
    except FileNotFoundError:
        raise DfkdError(f"{path} is missing: the store lists it but the file is gone. Restore it, or delete "
                        "its row in the store's metadata.csv and rerun the command that made it.") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise _damaged(path, f"not a readable PNG ({e})") from None
    return array[..., None] if array.ndim == 2 else array


def read_images(root: Path, files) -> np.ndarray:
    """(N, C, H, W) uint8 of `files` (relative to root); every image must have the first one's shape."""
    arrays, first = [], None
    for f in files:
        a = read_png(root / f)
        if first is None:
            first = (f, a.shape)
        elif a.shape != first[1]:
            h, w, c = a.shape
            fh, fw, fc = first[1]
            raise _damaged(root / f, f"{h}x{w} with {c} channel(s), but {first[0]} is {fh}x{fw} with {fc}; "
                           "one store holds images of one size")
        arrays.append(a)
    if not arrays:
        return np.zeros((0, 1, 1, 1), dtype=np.uint8)
    return np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2))
