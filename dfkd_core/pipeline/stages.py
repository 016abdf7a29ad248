"""Every pipeline stage, each declared once beside the method or part it runs (its settings,
check and run: dfkd_core.stage.Stage). A run config names them in `stages:`."""

from dfkd_core.distill.stage import DISTILL
from dfkd_core.filter.stage import FILTER
from dfkd_core.methods.baselines.stage import NOISE, REAL
from dfkd_core.methods.cmi.stage import CMI_STAGE
from dfkd_core.methods.dda.stage import AUGMENT
from dfkd_core.methods.deepinversion.stage import DEEPINVERSION
from dfkd_core.methods.diffdfkd.stage import GENERATE, UNGUIDED
from dfkd_core.methods.fast_dfkd.stage import FAST_DFKD
from dfkd_core.methods.hidfd.stage import HIDFD

from .stored import SAMPLES, SHARDS

STAGES = {s.name: s for s in (GENERATE, UNGUIDED, NOISE, REAL, SAMPLES, SHARDS, DEEPINVERSION, HIDFD, FAST_DFKD,
                              CMI_STAGE, AUGMENT, FILTER, DISTILL)}
SOURCES = [name for name, s in STAGES.items() if s.makes_images]
