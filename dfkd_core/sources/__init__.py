"""Everything that makes training images, behind one interface (base.Source: plan keys and
seeds, make(keys) -> LabelledBatch) and one resumable writer (base.write_source). The
sources: diffusion (guided, unguided = strength 0), baselines (noise, real images),
gan (HiDFD's generator), dfkd_core.deepinversion and dfkd_core.augment.dda (DDA variations
of a stored set); base.Made for a batch made already (the app's tabs)."""

from .base import (
    REFUSE,
    REPLACE,
    SKIP,
    Key,
    Made,
    Source,
    balanced_plan,
    flat_plan,
    label_with_teacher,
    missing,
    per_class_plan,
    write_source,
)

__all__ = ["REFUSE", "REPLACE", "SKIP", "Key", "Made", "Source", "balanced_plan", "flat_plan", "label_with_teacher",
           "missing", "per_class_plan", "write_source"]
