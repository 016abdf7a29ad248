"""Warming the models at start-up: the first Generate after `python app.py` starts should
find the demo prior, the teacher and the judges loaded and the CPU kernels of its batch set
up (benchmarks/bench_browser.py: the first Generate once warm). A Generate clicked while
the warm-up still runs says so, and waits for the models it would load anyway."""

import threading
import time

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.judges.batch import judge_batch
from dfkd_core.methods.diffdfkd.preview import app_defaults, compare_job, sample_seeds
from dfkd_core.paths import PRIOR

from .common import session_teacher

WARM = threading.Event()  # set once warm_up() has run
_started = threading.Event()


def start() -> None:
    """warm_up() in a background thread (once per process)."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=warm_up, name="dfkd-warm-up", daemon=True).start()


def in_progress() -> bool:
    return _started.is_set() and not WARM.is_set()


def warm_up() -> None:
    """Load what the first Generate needs (the demo prior, the teacher, the judges fitted on
    real images) and run the Samples tab's default batch once, so the first visitor waits for
    none of it (the first run of each batch shape also sets up the CPU kernels)."""
    started = time.monotonic()
    try:
        teacher = session_teacher(None)
        targets = [c for c in range(min(4, teacher.num_classes)) for _ in range(2)]  # the tab's first batch
        guided, unguided = compare_job(load_backbone_cached(str(PRIOR)), teacher, targets, sample_seeds(targets, 0),
                                       app_defaults(), report=lambda item: None, should_stop=None)
        judge_batch(teacher, guided)
    except (DfkdError, OSError) as e:  # no prior or no Fashion-MNIST here: the tab says so when used
        print(f"DFKD Studio: warm-up skipped ({e})")
    else:
        print(f"DFKD Studio: warm after {time.monotonic() - started:.1f} s")
    WARM.set()
