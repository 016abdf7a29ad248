"""A run config's shape: top-level keys, and a list of known stages each with a mapping of
settings (each stage's settings are checked by checks.check_run)."""

from pathlib import Path

import yaml

from dfkd_core.errors import DfkdError
from dfkd_core.settings import check_keys, suggestion

from .stages import STAGES

TOP_KEYS = ("name", "description", "teacher", "device", "seed", "stages")


def read_config(path) -> dict:
    try:
        cfg = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise DfkdError(f"Could not read run config {path}: {e}")
    return validate_config(cfg, str(path))


def validate_config(cfg: dict, where: str = "run config") -> dict:
    """The config's shape: top-level keys, a list of known stages each with a mapping of
    settings. checks.check_run checks the settings themselves."""
    if not isinstance(cfg, dict) or not isinstance(cfg.get("stages"), list) or not cfg["stages"]:
        raise DfkdError(f"{where}: expected a mapping with a non-empty `stages:` list, "
                        "e.g. stages: [{generate: {per_class: 100}}, {distill: {student: wrn_16_1}}].")
    check_keys(cfg, TOP_KEYS, where, kind="keys")
    for i, st in enumerate(cfg["stages"]):
        if not (isinstance(st, dict) and len(st) == 1):
            raise DfkdError(f"{where}: stage {i + 1} must be one `name: settings` pair, got {st!r}.")
        name, settings = next(iter(st.items()))
        if name not in STAGES:
            raise DfkdError(f"{where}: Unknown stage '{name}'{suggestion(name, STAGES)}; the stages are "
                            f"{', '.join(sorted(STAGES))}.")
        if settings is not None and not isinstance(settings, dict):
            raise DfkdError(f"{where}: settings of stage '{name}' must be a mapping, got {settings!r}.")
    return cfg


def stages_of(cfg: dict) -> list[tuple[str, dict]]:
    return [(name, dict(settings or {})) for st in cfg["stages"] for name, settings in st.items()]
