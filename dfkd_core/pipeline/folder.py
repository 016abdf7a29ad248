"""Who owns a run folder: the config in its config.yaml, once a stage has written something
there. A rerun with the same config resumes; a rerun with another config is refused with
the settings that differ and what to do. A folder where nothing was made yet (a first
attempt that failed before its first stage wrote a file) is not claimed: the corrected
config takes it over."""

from pathlib import Path

import yaml

from dfkd_core.errors import DfkdError

CANCELLED = "CANCELLED.json"  # written when should_stop() stopped the run; removed when it resumes
FREE_TO_CHANGE = ("device", "description")  # they do not change what a stage makes


def differences(old, new, where: str = "") -> list[str]:
    """'key: old -> new' for every setting that differs, with dotted paths into stages."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            path = f"{where}.{key}" if where else str(key)
            if key not in new:
                out.append(f"{path}: {old[key]!r} -> (not set)")
            elif key not in old:
                out.append(f"{path}: (not set) -> {new[key]!r}")
            else:
                out += differences(old[key], new[key], path)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{where}[{i + 1}]")]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


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
