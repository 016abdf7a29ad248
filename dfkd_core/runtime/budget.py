"""The memory a batch of image making needs, estimated from its settings before any model
loads: numbers that every range check accepts (batch_size 4096 x 2 candidates) can still
ask for more memory than the machine has, and should be refused in a second, not after the
models load and the machine starts swapping.

The estimate, in float32 bytes, is simple on purpose:

    images  = the images a batch holds at once (batch x candidates x noisy copies, for
              guided sampling; the stage says which of its settings multiply)
    bytes   = images x pixels x (channels x 16 + 1,000) x 4

16 copies of each image (the latent, the noise, x0, the decoded image, their gradients,
the optimiser's moments), and 1,000 floats of activations per pixel kept for a backward
pass through the networks the gradient crosses (a WRN-16-2 teacher keeps about 700 per
input pixel at 32x32). pixels: the image side squared, side being the size the backbone or
teacher declares where the run can read it, else DEFAULT_SIDE (32). It is a floor, not a
forecast: a gradient through a large denoiser (mode: full), attention layers and the
models' own weights come on top, so a batch it refuses does not fit.

The limit: DFKD_MAX_MEMORY_GB (gigabytes, 2**30 bytes) when set, else half this machine's
RAM (os.sysconf)."""

import os

from dfkd_core.errors import DfkdError

DEFAULT_SIDE = 32  # the image side assumed when neither the backbone nor the teacher declares one
IMAGE_COPIES = 16
ACTIVATIONS_PER_PIXEL = 1_000
ENV = "DFKD_MAX_MEMORY_GB"
RAM_SHARE = 0.5
GB = 2**30


def batch_bytes(images: int, side: int = DEFAULT_SIDE, channels: int = 3) -> int:
    """The estimate above for `images` images of side x side pixels and `channels` channels."""
    return int(images) * int(side) ** 2 * (int(channels) * IMAGE_COPIES + ACTIVATIONS_PER_PIXEL) * 4


def memory_limit() -> tuple[int, str]:
    """(bytes, where the figure comes from): $DFKD_MAX_MEMORY_GB, else half the machine's RAM."""
    value = os.environ.get(ENV)
    if value:
        try:
            gb = float(value)
        except ValueError:
            gb = float("nan")
        if not gb > 0 or gb == float("inf"):
            raise DfkdError(f"{ENV} must be a positive number of gigabytes, got {value!r}.")
        return int(gb * GB), f"{ENV}={value}"
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(ram * RAM_SHARE), f"half of this machine's {ram / GB:.0f} GB of RAM; raise it with {ENV}"


def check_batch(images: int, side: int, channels: int, where: str, lower: str, detail: str = ""):
    """Refuse a batch whose estimate is past the limit, naming the settings to lower.
    detail: how `images` was counted (e.g. "batch_size 4096 x candidates 2")."""
    need = batch_bytes(images, side, channels)
    limit, source = memory_limit()
    if need > limit:
        counted = f" ({detail})" if detail else ""
        raise DfkdError(f"{where}: a batch of {images:,} images{counted} of {channels}x{side}x{side} needs about "
                        f"{need / GB:.1f} GB of memory, more than the {limit / GB:.1f} GB allowed ({source}). "
                        f"Lower {lower}.")
