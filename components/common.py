"""Helpers every tab uses: the session's teacher, and small images shown larger."""

import numpy as np
from PIL import Image

from dfkd_core.demo import TEACHER
from dfkd_core.teacher_report import load_teacher_cached

PREVIEW_SCALE = 4  # 32 px samples are shown 4x larger


def session_teacher(spec):
    """The teacher the Teacher tab chose (its spec in gr.State), or the demo teacher."""
    spec = spec or {"source": str(TEACHER)}
    return load_teacher_cached(spec["source"], spec.get("arch"), spec.get("num_classes"))


def enlarged(image, scale: int = PREVIEW_SCALE) -> Image.Image:
    """A uint8 array (H, W[, C]) or PIL image, as RGB, `scale` times larger with crisp pixels."""
    img = (Image.fromarray(image) if isinstance(image, np.ndarray) else image).convert("RGB")
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)
