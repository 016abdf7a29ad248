"""`dfkd run CONFIG.yaml` (a whole run: sources -> ... -> distill) and `dfkd distill`
(a student from an existing sample set), both resumable by rerunning."""

import shlex
from contextlib import nullcontext
from pathlib import Path

from dfkd_core.distill.config import DistillSettings
from dfkd_core.errors import DfkdError
from dfkd_core.paths import checked_name, runs_dir
from dfkd_core.pipeline.lock import run_lock
from dfkd_core.teacher.spec import add_teacher_arguments, override_teacher_config, teacher_spec_from_args

from .estimate import print_estimate
from .flags import add_dataclass_flags, dataclass_flags
from .options import DataOptions, DeviceOptions
from .preflight import check_teacher_source, config_teacher, run_folder_of
from .progress import PhaseBars

DISTILL_SPECIAL = ("data_dir", "download", "real_repeat")  # --data-dir/--download: the run's; no real images here


def execute(cfg: dict, out, args) -> None:
    check_teacher_source(cfg.get("teacher"))  # a wrong path is told before torch loads
    from dfkd_core.pipeline.run import run_pipeline  # heavy: keeps torch off the CLI's start-up
    from dfkd_core.runtime.distributed import is_main  # heavy: keeps torch off the CLI's start-up

    if is_main():
        print_estimate(cfg)
    bars, command = PhaseBars(enabled=is_main()), "dfkd " + shlex.join(args.argv)
    try:
        with run_lock(out, command) if is_main() else nullcontext():  # one process per run folder
            ctx = run_pipeline(cfg, out, data_dir=args.data_dir, download=args.download, progress=bars,
                               where=getattr(args, "config", None) or "dfkd distill", command=command,
                               on_metrics=bars.metrics, log=bars.write)
    finally:
        bars.close()
    if ctx.cancelled:
        raise DfkdError(f"The run stopped before it finished ({ctx.stopped_at or 'cancelled'}); rerun the same "
                        "command to resume it.")
    if not is_main():  # under torchrun / accelerate launch, rank 0 reports
        return
    for key, value in ctx.results.items():
        print(f"{key:>22}: {value}")
    print(f"run folder: {out} (report.md, results.json)")


def run_folder(cfg: dict, out, config=None) -> Path:
    """--out; else the folder of `config` when it is a run folder's own config.yaml (a moved or
    copied run resumes where it is); else runs/<name>."""
    if out:
        return Path(out)
    if config and run_folder_of(config, "[0-9][0-9]-*"):
        return run_folder_of(config, "[0-9][0-9]-*")
    if not cfg.get("name"):
        raise DfkdError("The config names no run (`name:`); add one or pass --out FOLDER.")
    return runs_dir() / checked_name(str(cfg["name"]), "Run")


def cmd_run(args) -> None:
    check_teacher_source(args.teacher or config_teacher(args.config))  # told before torch loads
    from dfkd_core.pipeline.config import read_config  # heavy: keeps torch off the CLI's start-up
    cfg = read_config(args.config)
    if args.device:
        cfg["device"] = args.device
    teacher = override_teacher_config(args, cfg.get("teacher"))  # None: no teacher flag, none in the config
    if teacher is not None:
        cfg["teacher"] = teacher
    execute(cfg, run_folder(cfg, args.out, args.config), args)


def cmd_distill(args) -> None:
    settings = dataclass_flags(args, DistillSettings, skip=DISTILL_SPECIAL)
    DistillSettings(**settings)  # a bad value is told before the teacher loads
    cfg = {"name": Path(args.out).name, "teacher": teacher_spec_from_args(args).to_config(), "device": args.device,
           "stages": [{"samples": {"path": args.samples}} if args.samples else {"shards": {"path": args.shards}},
                      {"distill": settings}]}
    execute(cfg, args.out, args)


def add_commands(sub) -> None:
    run = sub.add_parser("run", help="run a YAML config: sample sources -> (augment -> filter) -> distill")
    run.add_argument("config", help="YAML file (see configs/)")
    run.add_argument("--out", help="run folder (default: runs/<name>); rerun to resume")
    run.add_argument("--device", help="override the config's device (auto, cpu, cuda)")
    add_teacher_arguments(run, default=None)  # override or complete the config's teacher
    add_dataclass_flags(run, DataOptions, defaults=True)
    run.set_defaults(func=cmd_run)

    d = sub.add_parser("distill", help="distil a student from an existing sample set (or its WebDataset export)")
    images = d.add_mutually_exclusive_group(required=True)
    images.add_argument("--samples", help="a sample store folder (with metadata.csv) or a sample-set name")
    images.add_argument("--shards", metavar="DIR", help="WebDataset shards (`dfkd export STORE --format webdataset "
                        "--out DIR`), streamed, never loaded whole")
    d.add_argument("--out", required=True, help="run folder; rerun to resume")
    add_teacher_arguments(d)
    add_dataclass_flags(d, DistillSettings, skip=DISTILL_SPECIAL)
    add_dataclass_flags(d, DeviceOptions, defaults=True)
    add_dataclass_flags(d, DataOptions, defaults=True)
    d.set_defaults(func=cmd_distill)
