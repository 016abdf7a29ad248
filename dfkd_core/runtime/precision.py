"""Mixed precision: bfloat16 autocast for the networks' forward passes, with float32 weights,
diffusion trajectories and losses.

On a CPU with AMX or AVX512-BF16 (Xeon 4th generation and later) autocast runs the demo kit's
networks about twice as fast (benchmarks/bench_precision.py prints the ratios); on CUDA it
is the usual mixed precision. The default stays float32 on a CPU: a CPU without bfloat16
units runs autocast slower, and the figures in BENCHMARKS.md are float32 unless a row says
otherwise."""

import torch

from dfkd_core.errors import DfkdError

PRECISIONS = ("fp32", "bf16")
BACKBONE_PRECISIONS = ("auto",) + PRECISIONS  # auto: the backbone's device default (loading.default_dtype)


def check_precision(value, where: str, allowed=PRECISIONS) -> str:
    if value not in allowed:
        raise DfkdError(f"{where}: precision must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def autocast(device, precision: str):
    """A context in which forward passes run in bfloat16 when precision is 'bf16' (a no-op for
    'fp32' and 'auto'). Compute losses on .float() outputs, outside or after it."""
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")
