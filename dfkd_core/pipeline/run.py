"""`dfkd run CONFIG.yaml`: one run = one YAML config = one folder.

    name: fmnist-diffdfkd          # the run folder is runs/<name> unless --out is given
    teacher: demo                  # 'demo' or any teacher source `dfkd teacher inspect` accepts
    device: auto
    stages:                        # run in order; each is {stage name: settings}
      - generate: {per_class: 200, guidance: {strength: 0.08}}
      - distill: {student: wrn_16_1, epochs: 20, eval: fashion-mnist}

A stage works in its own folder (NN-name/) and, when it finishes, writes DONE.json with
what it hands on (the sample store it leaves current, ..., as paths relative to the run
folder). Rerunning the config skips
finished stages, and an unfinished stage resumes from its own checkpoints. Stage
functions live in other modules, named in STAGES, and take (settings, RunContext)."""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.data.shard_stream import ShardStream
from dfkd_core.errors import Cancelled
from dfkd_core.io import write_json, write_text
from dfkd_core.runtime import distributed
from dfkd_core.runtime.devices import resolve_device
from dfkd_core.runtime.distributed import any_rank
from dfkd_core.store import SampleStore
from dfkd_core.teacher.spec import resolve_teacher

from .checks import check_against_teacher, check_run
from .config import stages_of
from .folder import CANCELLED, claim_folder


@dataclass
class RunContext:
    run_dir: Path
    config: dict
    teacher: object  # Teacher
    device: str
    stage_dir: Path | None = None
    stage_label: str = ""  # the running stage's name, as progress and messages show it
    store: SampleStore | None = None  # the current sample set; stages read it and may replace it
    real: ImageDataset | None = None  # a few real images for data inflation (HiDFD)
    real_store: SampleStore | None = None
    shards: object | None = None  # WebDataset shards (data.shard_stream.ShardStream) distill streams from
    results: dict = field(default_factory=dict)  # what stages report (accuracy, counts, ...)
    command: str = ""  # how the run was started, recorded in the student's card
    log: Callable[[str], None] = print
    should_stop: Callable[[], bool] = lambda: False
    progress: Callable[[str, float, float], None] = lambda stage, done, total: None
    on_metrics: Callable[[str, dict], None] = lambda stage, row: None
    data_dir: str | None = None  # where stages look for datasets (--data-dir); a stage's own data_dir wins
    download: bool = False  # download a missing dataset (--download)
    cancelled: bool = False  # should_stop() stopped the run: the stage it was in is not finished
    stopped_at: str | None = None  # where, as Cancelled said it

    @property
    def stage_names(self) -> list[str]:
        return [name for name, _ in stages_of(self.config)]


def _handed_path(path, run_dir: Path) -> str | None:
    """A store path for DONE.json: relative to the run folder when inside it (a run folder can
    be moved or renamed, or resumed from another working directory), else absolute."""
    if path is None:
        return None
    path, root = Path(path).resolve(), run_dir.resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _restore(ctx: RunContext, handed: dict):
    def where(p):  # DONE.json from before relative paths held paths relative to the working directory
        return ctx.run_dir / p if not Path(p).is_absolute() and (ctx.run_dir / p).exists() else Path(p)

    if handed.get("store"):
        ctx.store = SampleStore(where(handed["store"]))
    real = handed.get("real_store")
    if real and (ctx.real_store is None or ctx.real_store.root != where(real)):
        ctx.real_store = SampleStore(where(real))  # each later stage hands it on: load it once
        ctx.real = ctx.real_store.load()
    if handed.get("shards"):
        ctx.shards = ShardStream(where(handed["shards"]["path"]), handed["shards"]["shuffle"])
    ctx.results.update(handed.get("results", {}))


def run_pipeline(cfg: dict, run_dir, teacher=None, data_dir=None, download: bool = False, where: str = "run config",
                 **hooks) -> RunContext:
    """Run (or resume) every stage of cfg in run_dir. The whole config is checked, and the
    teacher loaded, before the folder is claimed (config.yaml written) and before any stage
    works. data_dir/download: where stages find the datasets they read (a stage's own
    data_dir wins), and whether to download missing ones now. hooks: log, should_stop,
    progress, on_metrics, command. `where` names the config in messages. Returns the
    context: `results` hold what the stages reported; `cancelled` is true when should_stop()
    stopped it (nothing marked finished)."""
    parsed = check_run(cfg, where, data_dir=data_dir, download=download)
    run_dir = Path(run_dir)
    claim_folder(run_dir, cfg)
    device = distributed.init_if_needed(resolve_device(cfg.get("device", "auto")))  # cuda:LOCAL_RANK per rank
    teacher = teacher or resolve_teacher(cfg.get("teacher", "demo"))
    check_against_teacher(cfg, teacher)
    teacher.to(device)
    main = distributed.is_main()  # under torchrun / accelerate launch, rank 0 writes the run's files
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text(run_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=False))
        (run_dir / CANCELLED).unlink(missing_ok=True)
    distributed.barrier()
    ctx = RunContext(run_dir, cfg, teacher, device, data_dir=data_dir, download=download, **hooks)
    for i, (stage, settings) in enumerate(parsed, 1):
        name = stage.name
        ctx.stage_dir, ctx.stage_label = run_dir / f"{i:02d}-{name}", name
        done_path = ctx.stage_dir / "DONE.json"
        if done_path.exists():
            _restore(ctx, json.loads(done_path.read_text()))
            ctx.log(f"[{i}] {name}: done earlier, skipped")
            continue
        ctx.stage_dir.mkdir(parents=True, exist_ok=True)
        ctx.log(f"[{i}] {name} ...")
        t0, cpu0 = time.time(), time.process_time()
        before = dict(ctx.results)
        try:
            stage.run(settings, ctx)
        except Cancelled as e:
            ctx.stopped_at = str(e)
        if any_rank(ctx.stopped_at is not None or ctx.should_stop()):  # a stop on one rank stops all
            ctx.cancelled = True
            if main:
                write_json(run_dir / CANCELLED, {"stage": f"{i:02d}-{name}", "at": ctx.stopped_at or ""})
            ctx.log(f"[{i}] {name}: stopped{' (' + ctx.stopped_at + ')' if ctx.stopped_at else ''}; "
                    "rerun the config to resume")
            return ctx
        new_results = {k: v for k, v in ctx.results.items() if before.get(k) != v}
        new_results[f"{name}_seconds"] = round(time.time() - t0, 1)
        # CPU seconds of this process (all its threads): unlike wall time, they do not grow
        # when other jobs share the machine, so equal-compute budgets can be set in them
        new_results[f"{name}_cpu_seconds"] = round(time.process_time() - cpu0, 1)
        ctx.results.update(new_results)
        if main:
            write_json(done_path, {"store": _handed_path(ctx.store.root if ctx.store is not None else None, run_dir),
                                   "real_store": _handed_path(ctx.real_store.root if ctx.real_store is not None
                                                              else None, run_dir),
                                   "shards": None if ctx.shards is None else {
                                       "path": _handed_path(ctx.shards.root, run_dir), "shuffle": ctx.shards.shuffle},
                                   "results": new_results})
        distributed.barrier()  # the ranks start each stage together
    if main:
        write_json(run_dir / "results.json", ctx.results)
        write_text(run_dir / "report.md", report(cfg, ctx.results))
    distributed.barrier()
    return ctx


def report(cfg: dict, results: dict) -> str:
    lines = [f"# Run {cfg.get('name', '')}", "", cfg.get("description", "").strip(), "",
             "Stages: " + " -> ".join(name for name, _ in stages_of(cfg)), "", "| result | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in results.items()]
    return "\n".join(lines) + "\n"
