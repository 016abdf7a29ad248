"""Reading a few unlabelled images: image files or a .zip (read in memory; nothing is
extracted, so member paths are harmless), each checked and centre-cropped to a square,
and converting images to a teacher's channels and input size."""

import io
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data.datasets import IMAGE_SUFFIXES
from ..data.image_dataset import ImageDataset
from ..errors import DfkdError

MAX_ZIP_MEMBERS = 50_000
MAX_ZIP_BYTES = 1024 ** 3
MAX_SIDE = 128  # larger uploads are shrunk while read
UNKNOWN = -1  # label of images whose class is not known


def read_image_files(paths) -> ImageDataset:
    named = [(Path(p).name, lambda p=p: Path(p).read_bytes()) for p in paths
             if Path(p).suffix.lower() in IMAGE_SUFFIXES]
    return _decode(named, "uploaded images" if named else ", ".join(str(p) for p in paths[:3]))


def read_zip(path) -> ImageDataset:
    """Image members of a zip, read in memory (nothing is extracted, so member paths are harmless)."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise DfkdError(f"{Path(path).name} is not a readable zip file ({e}).")
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir() and Path(m.filename).suffix.lower() in IMAGE_SUFFIXES
                   and not any(part.startswith(("__MACOSX", ".")) for part in Path(m.filename).parts)]
        if len(members) > MAX_ZIP_MEMBERS:
            raise DfkdError(f"{Path(path).name} holds {len(members)} images; at most {MAX_ZIP_MEMBERS} are accepted.")
        if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
            raise DfkdError(f"{Path(path).name} unpacks to more than {MAX_ZIP_BYTES // 1024 ** 2} MB of images.")
        named = [(m.filename, lambda m=m: zf.read(m)) for m in sorted(members, key=lambda m: m.filename)]
        return _decode(named, Path(path).name)


def _decode(named, where: str) -> ImageDataset:
    from PIL import Image

    if not named:
        raise DfkdError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {where}.")
    squares = []
    for name, read in named:
        try:
            img = Image.open(io.BytesIO(read()))
            img.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, zipfile.BadZipFile) as e:
            raise DfkdError(f"Could not read image '{name}' in {where}: {e}.")
        img = img.convert("L" if img.mode in ("L", "1", "I", "I;16", "LA") else "RGB")
        side = min(img.size)  # centre square crop
        left, top = (img.width - side) // 2, (img.height - side) // 2
        squares.append(img.crop((left, top, left + side, top + side)))
    size = min(MAX_SIDE, *(s.width for s in squares))  # one common size; the teacher's comes later
    channels = 3 if any(s.mode == "RGB" for s in squares) else 1
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
