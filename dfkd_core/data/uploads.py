"""Reading a few unlabelled images: image files or a .zip (read in memory; nothing is
extracted, so member paths are harmless), each checked and centre-cropped to a square,
and converting images to a teacher's channels and input size. Uploads are bounded before
any work: bytes per file (a zip member by its declared size, and again while read),
pixels per image from its header before decoding, pixels in all, and a minimum size."""

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dfkd_core.errors import DfkdError

from .datasets import IMAGE_SUFFIXES
from .image_dataset import ImageDataset

MAX_ZIP_MEMBERS = 50_000
MAX_ZIP_BYTES = 1024 ** 3  # all image members of a zip, as declared
MAX_FILE_BYTES = 64 * 1024 ** 2  # one image file or zip member
MAX_IMAGE_PIXELS = 4096 * 4096  # one image, read off its header before it is decoded
MAX_TOTAL_PIXELS = 400 * 1024 ** 2  # all images together, as decoded and as converted
MIN_SIDE = 8  # smaller images hold nothing a teacher can see
MAX_SIDE = 128  # without a target size, larger uploads are shrunk while read
UNKNOWN = -1  # label of images whose class is not known


def read_image_files(paths, size: int | None = None) -> ImageDataset:
    """Image files, each resized to `size` (the teacher's input) when given. Messages name a
    file by its name in its folder (the folder, when all are in one: a CLI's --real FOLDER)."""
    paths = [Path(p) for p in paths]
    folders = {p.parent for p in paths}
    where = str(next(iter(folders))) if len(folders) == 1 else "uploaded images"
    named = []
    for p in paths:
        if p.suffix.lower() in IMAGE_SUFFIXES:
            _check_bytes(p.name, p.stat().st_size, where)
            named.append((p.name, p.read_bytes))
    return _decode(named, where if named else ", ".join(str(p) for p in paths[:3]), size)


def read_zip(path, size: int | None = None) -> ImageDataset:
    """Image members of a zip, read in memory (nothing is extracted, so member paths are
    harmless); every size a member declares is checked before it is read."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise DfkdError(f"{Path(path).name} is not a readable zip file ({e}).")
    where = Path(path).name
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir() and Path(m.filename).suffix.lower() in IMAGE_SUFFIXES
                   and not any(part.startswith(("__MACOSX", ".")) for part in Path(m.filename).parts)]
        if len(members) > MAX_ZIP_MEMBERS:
            raise DfkdError(f"{where} holds {len(members)} images; at most {MAX_ZIP_MEMBERS} are accepted.")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise DfkdError(f"{where} unpacks to more than {MAX_ZIP_BYTES // 1024 ** 2} MB of images.")
        for m in members:
            _check_bytes(m.filename, m.file_size, where)
        named = [(m.filename, lambda m=m: _read_member(zf, m, where))
                 for m in sorted(members, key=lambda m: m.filename)]
        return _decode(named, where, size)


def _check_bytes(name: str, size: int, where: str) -> None:
    if size > MAX_FILE_BYTES:
        raise DfkdError(f"'{name}' in {where} is {size / 1024 ** 2:.0f} MB; an image may be at most "
                        f"{MAX_FILE_BYTES // 1024 ** 2} MB.")


def _read_member(zf: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> bytes:
    """At most MAX_FILE_BYTES, whatever the member's header claims."""
    with zf.open(member) as f:
        data = f.read(MAX_FILE_BYTES + 1)
    _check_bytes(member.filename, len(data), where)
    return data


def _header_checked(img, name: str, where: str, decoded: int) -> int:
    """The pixels of `img` (its header only has been read), refused when too large or too
    small; returns the running total of pixels to decode."""
    w, h = img.size
    if w * h > MAX_IMAGE_PIXELS:
        raise DfkdError(f"'{name}' in {where} is {w}x{h} pixels; an image may have at most "
                        f"{MAX_IMAGE_PIXELS:,} pixels (e.g. 4096x4096).")
    if min(w, h) < MIN_SIDE:
        raise DfkdError(f"'{name}' in {where} is {w}x{h} pixels; images must be at least {MIN_SIDE}x{MIN_SIDE}.")
    if decoded + w * h > MAX_TOTAL_PIXELS:
        raise DfkdError(f"The images in {where} hold more than {MAX_TOTAL_PIXELS:,} pixels together; upload "
                        "fewer or smaller images.")
    return decoded + w * h


def _decode(named, where: str, size: int | None = None) -> ImageDataset:
    from PIL import Image, UnidentifiedImageError  # heavy: keeps PIL off importing data.uploads

    if not named:
        raise DfkdError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {where}.")
    squares, decoded = [], 0
    for name, read in named:
        try:
            img = Image.open(io.BytesIO(read()))  # reads the header only
            decoded = _header_checked(img, name, where, decoded)
            img.load()
        except UnidentifiedImageError:  # its message names the in-memory buffer, not the file
            raise DfkdError(f"'{name}' in {where} is not an image: its content is in no format PIL reads "
                            f"({', '.join(sorted(IMAGE_SUFFIXES))}). Remove it or replace it with an image.") from None
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, zipfile.BadZipFile) as e:
            reason = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "it", str(e))
            raise DfkdError(f"Could not read image '{name}' in {where}: {reason}.") from None
        img = img.convert("L" if img.mode in ("L", "1", "I", "I;16", "LA") else "RGB")
        side = min(img.size)  # centre square crop
        left, top = (img.width - side) // 2, (img.height - side) // 2
        squares.append(img.crop((left, top, left + side, top + side)))
    # one common size: the teacher's when known (one small image must not shrink them all)
    size = int(size) if size else min(MAX_SIDE, *(s.width for s in squares))
    channels = 3 if any(s.mode == "RGB" for s in squares) else 1
    if len(squares) * size * size * channels > MAX_TOTAL_PIXELS:
        raise DfkdError(f"{len(squares)} images of {size}x{size} from {where} exceed {MAX_TOTAL_PIXELS:,} values; "
                        "upload fewer images.")
    arrays = [np.asarray(s.convert("RGB" if channels == 3 else "L").resize((size, size), Image.BILINEAR))
              for s in squares]
    array = np.stack([a.reshape(size, size, channels) for a in arrays]).transpose(0, 3, 1, 2)
    images = torch.from_numpy(np.ascontiguousarray(array))
    return ImageDataset(images, torch.full((len(images),), UNKNOWN), [], where)


def to_teacher_format(ds: ImageDataset, channels: int, size: int) -> ImageDataset:
    images = ds.images
    if images.shape[1] != channels:
        x = images.float()
        if images.shape[1] == 1:
            x = x.expand(-1, channels, -1, -1)
        elif images.shape[1] == 3 and channels == 1:
            x = (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        else:
            raise DfkdError(f"Cannot convert {images.shape[1]}-channel images to the teacher's {channels} channels.")
        images = x.round().clamp(0, 255).to(torch.uint8)
    images = _resize(images, size)
    return ImageDataset(images, ds.labels, ds.class_names, ds.name)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False,
                      antialias=images.shape[-1] > size)
    return x.round().clamp(0, 255).to(torch.uint8)
