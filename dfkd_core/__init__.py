"""dfkd_core: data-free knowledge distillation with generative models."""

from .errors import DfkdError

__all__ = ["DfkdError"]
__version__ = "0.1.0"
