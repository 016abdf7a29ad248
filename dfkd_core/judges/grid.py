"""A per-class sample grid as a PNG: one row per class, its name on the left, the first
`columns` samples of that class to the right (an empty cell where a class has fewer)."""

from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from dfkd_core.errors import DfkdError
from dfkd_core.io import png_bytes, write_output

LABEL_WIDTH, GAP = 130, 2
BACKGROUND, EMPTY = (255, 255, 255), (225, 225, 225)


def grid_image(images: torch.Tensor, targets, class_names: list, columns: int = 8, scale: int = 3) -> Image.Image:
    """images (N, C, H, W) in [0, 1]; cells scaled up `scale` times (nearest), so pixels stay visible."""
    targets = torch.as_tensor(targets).long()
    h, w = images.shape[-2] * scale, images.shape[-1] * scale
    rows = len(class_names)
    canvas = Image.new("RGB", (LABEL_WIDTH + columns * (w + GAP), rows * (h + GAP)), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(11, min(16, h // 4)))
    arr = (images.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    for row, name in enumerate(class_names):
        top = row * (h + GAP)
        draw.text((6, top + h // 2), f"{row}: {name}", fill=(0, 0, 0), font=font, anchor="lm")
        members = (targets == row).nonzero().flatten().tolist()[:columns]
        for col in range(columns):
            left = LABEL_WIDTH + col * (w + GAP)
            if col >= len(members):
                draw.rectangle([left, top, left + w - 1, top + h - 1], fill=EMPTY)
                continue
            cell = arr[members[col]].permute(1, 2, 0).numpy()
            tile = Image.fromarray(cell[..., 0] if cell.shape[-1] == 1 else cell).convert("RGB")
            canvas.paste(tile.resize((w, h), Image.NEAREST), (left, top))
    return canvas


def check_grid(columns: int, scale: int):
    if not 1 <= columns <= 64 or not 1 <= scale <= 16:
        raise DfkdError(f"Grid: columns must be 1-64 and scale 1-16 (got {columns}, {scale}).")


def grid_png(images: torch.Tensor, targets, class_names: list, columns: int = 8, scale: int = 3) -> bytes:
    """The grid as PNG bytes, marked as the project's (so a rerun may replace it)."""
    check_grid(columns, scale)
    return png_bytes(grid_image(images, targets, class_names, columns, scale))


def save_grid(images: torch.Tensor, targets, class_names: list, path, columns: int = 8, scale: int = 3,
              overwrite: bool = False) -> Path:
    """Write the grid to `path` (PNG, atomically); returns the path. A file there that the
    project did not write is refused unless overwrite."""
    return write_output(path, grid_png(images, targets, class_names, columns, scale), overwrite)
