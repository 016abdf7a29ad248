"""What a command reads before it imports torch, so a mistake in its input is told in well
under a second: a teacher file that does not exist, the teacher a config names, whether a
config is a run folder's own. What needs a file's contents is checked when it loads
(dfkd_core.teacher.loading)."""

from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.runtime.hub import looks_like_hub_id


def teacher_source(teacher) -> str | None:
    """The source a teacher config or flag names ('demo', a path, a hub id), or None."""
    if isinstance(teacher, dict):
        teacher = teacher.get("source")
    return getattr(teacher, "source", teacher) if teacher is not None else None


def check_teacher_source(teacher) -> None:
    """A teacher source that is neither 'demo', nor a file or folder here, nor a hub id is
    refused with the message loading would give, without loading anything."""
    source = teacher_source(teacher)
    if not isinstance(source, str) or source == "demo" or looks_like_hub_id(source):
        return
    path = Path(source).expanduser()
    if path.exists() or (path.suffix == ".safetensors" and path.with_suffix(".json").is_file()):
        return
    raise DfkdError(f"Teacher file {source} not found: it does not exist (looked for {path.resolve()}). Expected "
                    "a card (.json), a checkpoint file, a transformers model folder, or a hub id (org/name).")


def config_teacher(path):
    """The teacher a YAML run config names (None when it cannot be read: reading it for the
    run says why)."""
    import yaml  # heavy: keeps yaml off the CLI's start-up
    try:
        cfg = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None
    return cfg.get("teacher", "demo") if isinstance(cfg, dict) else None


def run_folder_of(config, marker: str):
    """The folder of `config` when it is a run folder's own config.yaml (the folder holds
    `marker`, a name or glob of what the run wrote), else None."""
    folder = Path(config).parent
    return folder if Path(config).name == "config.yaml" and any(folder.glob(marker)) else None
