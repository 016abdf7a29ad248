"""`dfkd run CONFIG.yaml`: one run = one YAML config = one folder.

    name: fmnist-diffdfkd          # the run folder is runs/<name> unless --out is given
    teacher: demo                  # 'demo' or any teacher source `dfkd teacher inspect` accepts
    device: auto
    stages:                        # run in order; each is {stage name: settings}
      - generate: {per_class: 200, guidance: {strength: 0.08}}
      - distill: {student: wrn_16_1, epochs: 20, eval: fashion-mnist}

A stage works in its own folder (NN-name/) and, when it finishes, writes DONE.json with
what it hands on (the sample store it leaves current, ...). Rerunning the config skips
finished stages, and an unfinished stage resumes from its own checkpoints. Stage
functions live in other modules, named in STAGES, and take (settings, RunContext)."""

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .data.image_dataset import ImageDataset
from .data.store import SampleStore
from .devices import resolve_device
from .errors import DfkdError
from .io import write_json, write_text

STAGES = {
    "generate": "dfkd_core.stages:generate",
    "unguided": "dfkd_core.stages:unguided",
    "noise": "dfkd_core.stages:noise",
    "real": "dfkd_core.stages:real",
    "samples": "dfkd_core.stages:samples",
    "deepinversion": "dfkd_core.deepinversion:stage",
    "hidfd": "dfkd_core.gan.stage:hidfd",
    "augment": "dfkd_core.augment.stages:augment",
    "filter": "dfkd_core.augment.stages:filter",
    "distill": "dfkd_core.stages:distill",
}


@dataclass
class RunContext:
    run_dir: Path
    config: dict
    teacher: object  # Teacher
    device: str
    stage_dir: Path | None = None
    store: SampleStore | None = None  # the current sample set; stages read it and may replace it
    real: ImageDataset | None = None  # a few real images for data inflation (HiDFD)
    real_store: SampleStore | None = None
    results: dict = field(default_factory=dict)  # what stages report (accuracy, counts, ...)
    command: str = ""  # how the run was started, recorded in the student's card
    log: Callable[[str], None] = print
    should_stop: Callable[[], bool] = lambda: False
    progress: Callable[[str, float, float], None] = lambda stage, done, total: None
    on_metrics: Callable[[str, dict], None] = lambda stage, row: None

    @property
    def stage_names(self) -> list[str]:
        return [name for name, _ in stages_of(self.config)]


def stage_function(name: str):
    if name not in STAGES:
        raise DfkdError(f"Unknown stage '{name}'; the stages are {sorted(STAGES)}.")
    module, fn = STAGES[name].split(":")
    return getattr(importlib.import_module(module), fn)


def read_config(path) -> dict:
    try:
        cfg = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise DfkdError(f"Could not read run config {path}: {e}")
    return validate_config(cfg, str(path))


def validate_config(cfg: dict, where: str = "run config") -> dict:
    if not isinstance(cfg, dict) or not isinstance(cfg.get("stages"), list) or not cfg["stages"]:
        raise DfkdError(f"{where}: expected a mapping with a non-empty `stages:` list, "
                        "e.g. stages: [{generate: {per_class: 100}}, {distill: {student: wrn_16_1}}].")
    unknown = set(cfg) - {"name", "teacher", "device", "seed", "stages", "description"}
    if unknown:
        raise DfkdError(f"{where}: unknown keys {sorted(unknown)}; expected name, teacher, device, seed, "
                        "stages, description.")
    for i, st in enumerate(cfg["stages"]):
        if not (isinstance(st, dict) and len(st) == 1):
            raise DfkdError(f"{where}: stage {i + 1} must be one `name: settings` pair, got {st!r}.")
        name, settings = next(iter(st.items()))
        stage_function(name)
        if settings is not None and not isinstance(settings, dict):
            raise DfkdError(f"{where}: settings of stage '{name}' must be a mapping, got {settings!r}.")
    return cfg


def stages_of(cfg: dict) -> list[tuple[str, dict]]:
    return [(name, dict(settings or {})) for st in cfg["stages"] for name, settings in st.items()]


def _restore(ctx: RunContext, handed: dict):
    if handed.get("store"):
        ctx.store = SampleStore(handed["store"])
    if handed.get("real_store") and (ctx.real_store is None or str(ctx.real_store.root) != handed["real_store"]):
        ctx.real_store = SampleStore(handed["real_store"])  # each later stage hands it on: load it once
        ctx.real = ctx.real_store.load()
    ctx.results.update(handed.get("results", {}))


def run_pipeline(cfg: dict, run_dir, teacher=None, **hooks) -> RunContext:
    """Run (or resume) every stage of cfg in run_dir. hooks: log, should_stop, progress,
    on_metrics, command.
    Returns the context, whose `results` hold what the stages reported."""
    from .generate import resolve_teacher

    validate_config(cfg)
    run_dir = Path(run_dir)
    config_path = run_dir / "config.yaml"
    if config_path.exists():
        previous = yaml.safe_load(config_path.read_text())
        if previous != cfg:
            raise DfkdError(f"{run_dir} holds a run made from another config (see {config_path}). "
                            "Use a new run name, or the same config to resume.")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(config_path, yaml.safe_dump(cfg, sort_keys=False))
    device = resolve_device(cfg.get("device", "auto"))
    teacher = teacher or resolve_teacher(cfg.get("teacher", "demo"))
    teacher.to(device)
    ctx = RunContext(run_dir, cfg, teacher, device, **hooks)
    for i, (name, settings) in enumerate(stages_of(cfg), 1):
        ctx.stage_dir = run_dir / f"{i:02d}-{name}"
        done_path = ctx.stage_dir / "DONE.json"
        if done_path.exists():
            _restore(ctx, json.loads(done_path.read_text()))
            ctx.log(f"[{i}] {name}: done earlier, skipped")
            continue
        ctx.stage_dir.mkdir(parents=True, exist_ok=True)
        ctx.log(f"[{i}] {name} ...")
        t0 = time.time()
        before = dict(ctx.results)
        stage_function(name)(settings, ctx)
        if ctx.should_stop():
            ctx.log(f"[{i}] {name}: stopped; rerun the config to resume")
            return ctx
        new_results = {k: v for k, v in ctx.results.items() if before.get(k) != v}
        new_results[f"{name}_seconds"] = round(time.time() - t0, 1)
        ctx.results.update(new_results)
        write_json(done_path, {"store": str(ctx.store.root) if ctx.store else None,
                               "real_store": str(ctx.real_store.root) if ctx.real_store else None,
                               "results": new_results})
    write_json(run_dir / "results.json", ctx.results)
    write_text(run_dir / "report.md", report(cfg, ctx.results))
    return ctx


def report(cfg: dict, results: dict) -> str:
    lines = [f"# Run {cfg.get('name', '')}", "", cfg.get("description", "").strip(), "",
             "Stages: " + " -> ".join(name for name, _ in stages_of(cfg)), "", "| result | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in results.items()]
    return "\n".join(lines) + "\n"
