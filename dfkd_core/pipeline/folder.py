"""Who owns a run folder: the config in its config.yaml, once a stage has written something
there. A rerun with the same config resumes; a rerun with another config is refused with
the settings that differ and what to do. A folder where nothing was made yet (a first
attempt that failed before its first stage wrote a file) is not claimed: the corrected
config takes it over. A run folder moved, copied or renamed resumes where it is: its name
(by default the folder's) does not change what a stage makes."""

from pathlib import Path

import yaml

from dfkd_core.errors import DfkdError
from dfkd_core.settings import differences  # noqa: F401 (read here by pipeline.compare and tests)

CANCELLED = "CANCELLED.json"  # written when should_stop() stopped the run; removed when it resumes
FREE_TO_CHANGE = ("device", "description", "name")  # they do not change what a stage makes


def has_work(run_dir: Path) -> bool:
    """Whether any stage folder (NN-name/) holds a file."""
    return any(p.is_file() for stage in run_dir.glob("[0-9][0-9]-*") if stage.is_dir() for p in stage.rglob("*"))


def _identity(cfg) -> dict:
    return {k: v for k, v in cfg.items() if k not in FREE_TO_CHANGE} if isinstance(cfg, dict) else cfg


def claim_folder(run_dir: Path, cfg: dict):
    """Raises DfkdError if run_dir holds work made from another config."""
    config_path = run_dir / "config.yaml"
    if not config_path.exists() or not has_work(run_dir):
        return
    try:
        previous = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DfkdError(f"{config_path} cannot be read ({e}); use a new run folder.")
    diff = differences(_identity(previous), _identity(cfg))
    if diff:
        shown = "; ".join(diff[:8]) + (f"; and {len(diff) - 8} more" if len(diff) > 8 else "")
        raise DfkdError(f"{run_dir} holds a run made from another config ({config_path}); the settings that "
                        f"differ (old -> new): {shown}. To resume it, use its settings again; to start over "
                        f"with the new ones, pass another --out (or another `name:`), or delete {run_dir}.")
