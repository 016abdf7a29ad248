"""The input a transformers image classifier expects, read off its image processor.

transformers 5 gives `size` and `crop_size` as a SizeDict (attributes, not a dict); older
versions give a dict or an int. The evaluation transform is one of: resize to height x width
(ViT), resize the shortest edge then center-crop (CLIP, BiT, DeiT), or ConvNeXt's crop_pct
(resize to shortest_edge / crop_pct, crop shortest_edge, below 384 px only). Images in [0, 1]
reach the teacher; the processor's rescale and normalisation fold into one mean and std."""

from dataclasses import dataclass

from dfkd_core.errors import DfkdError


@dataclass
class ProcessorInput:
    input_size: int | None  # the side of the (square) image the model takes; None: not said
    resize_size: int | None  # the side images are resized to before the central input_size crop
    mean: list
    std: list


def _edge(size, key: str) -> int | None:
    if size is None:
        return None
    if isinstance(size, (int, float)):
        return int(size) if key in ("height", "width", "shortest_edge") else None
    value = size.get(key) if hasattr(size, "get") else getattr(size, key, None)
    return int(value) if value else None


def _square_side(size, what: str, source: str) -> int | None:
    height, width = _edge(size, "height"), _edge(size, "width")
    if height and width:
        if height != width:
            raise DfkdError(f"{source}: the image processor's {what} is {height}x{width}; only square inputs "
                            "are supported. Declare a square input size (--teacher-input-size, or input_size "
                            "in the teacher mapping).")
        return height
    return _edge(size, "shortest_edge") or _edge(size, "longest_edge")


def _per_channel(values, channels: int, default: float) -> list[float]:
    if values is None:
        return [default] * channels
    values = [float(values)] if isinstance(values, (int, float)) else [float(v) for v in values]
    return values * channels if len(values) == 1 else values[:channels]


def _sides(proc, source: str) -> tuple[int | None, int | None]:
    """(input side, resize side) of the processor's evaluation transform on a square image."""
    side = _square_side(getattr(proc, "size", None), "size", source)
    if not side:
        return None, None
    resize, crop = side, side
    crop_pct = getattr(proc, "crop_pct", None)
    if crop_pct and type(proc).__name__.startswith("ConvNext"):
        if side < 384:  # ConvNeXt warps without cropping from 384 px on
            resize = int(side / crop_pct)
    elif crop_pct:  # PoolFormer: the resize is scaled by 1 / crop_pct, the crop comes from crop_size
        resize = crop = int(side / crop_pct)
    if getattr(proc, "do_center_crop", False):
        crop_side = _square_side(getattr(proc, "crop_size", None), "crop_size", source)
        crop = min(crop, crop_side or crop)
    return crop, resize


def read_processor(proc, channels: int, source: str, size_declared: bool = False) -> ProcessorInput:
    """Sizes are None when the processor does not say them, or the user declared their own."""
    crop, resize = (None, None) if size_declared else _sides(proc, source)
    # pixel value seen by the model: (x * 255 * rescale_factor [- 1 with rescale_offset] - mean) / std
    scale = 255 * float(getattr(proc, "rescale_factor", 1 / 255)) if getattr(proc, "do_rescale", True) else 255.0
    offset = 1.0 if getattr(proc, "rescale_offset", False) else 0.0
    if getattr(proc, "do_normalize", True):
        mean = _per_channel(getattr(proc, "image_mean", None), channels, 0.5)
        std = _per_channel(getattr(proc, "image_std", None), channels, 0.5)
    else:
        mean, std = [0.0] * channels, [1.0] * channels
    return ProcessorInput(crop, resize, [(m + offset) / scale for m in mean], [s / scale for s in std])
