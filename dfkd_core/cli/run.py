"""`dfkd run CONFIG.yaml` (a whole run: sources -> ... -> distill) and `dfkd distill`
(a student from an existing sample set), both resumable by rerunning."""

import shlex
from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.runtime.precision import PRECISIONS
from dfkd_core.teacher.spec import add_teacher_arguments, override_teacher_config, teacher_spec_from_args


class _Progress:
    """One tqdm bar per stage."""

    def __init__(self):
        self.bar, self.stage = None, None

    def __call__(self, stage, done, total):
        from tqdm import tqdm
        if stage != self.stage:
            self.close()
            self.stage, self.bar = stage, tqdm(desc=stage, total=total, dynamic_ncols=True)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def execute(cfg: dict, out, args) -> None:
    from dfkd_core.pipeline.run import run_pipeline
    progress = _Progress()
    try:
        ctx = run_pipeline(cfg, out, data_dir=args.data_dir, download=args.download, progress=progress,
                           where=getattr(args, "config", None) or "dfkd distill",
                           command="dfkd " + shlex.join(args.argv),
                           on_metrics=lambda stage, row: progress.bar and progress.bar.set_postfix(
                               {k: row[k] for k in ("train_loss", "test_acc") if k in row}))
    finally:
        progress.close()
    if ctx.cancelled:
        raise DfkdError(f"The run stopped before it finished ({ctx.stopped_at or 'cancelled'}); rerun the same "
                        "command to resume it.")
    from dfkd_core.runtime.distributed import is_main
    if not is_main():  # under torchrun / accelerate launch, rank 0 reports
        return
    for key, value in ctx.results.items():
        print(f"{key:>22}: {value}")
    print(f"run folder: {out} (report.md, results.json)")


def run_folder(cfg: dict, out) -> Path:
    from dfkd_core.paths import checked_name, runs_dir
    if out:
        return Path(out)
    if not cfg.get("name"):
        raise DfkdError("The config names no run (`name:`); add one or pass --out FOLDER.")
    return runs_dir() / checked_name(str(cfg["name"]), "Run")


def cmd_run(args) -> None:
    from dfkd_core.pipeline.config import read_config
    cfg = read_config(args.config)
    if args.device:
        cfg["device"] = args.device
    teacher = override_teacher_config(args, cfg.get("teacher"))  # None: no teacher flag, none in the config
    if teacher is not None:
        cfg["teacher"] = teacher
    execute(cfg, run_folder(cfg, args.out), args)


def cmd_distill(args) -> None:
    settings = {"student": args.student, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                "temperature": args.temperature, "ce_weight": args.ce_weight, "simkd": args.simkd,
                "mixup": args.mixup, "seed": args.seed, "precision": args.precision, "onnx": not args.no_onnx}
    if args.eval:
        settings["eval"] = args.eval
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
    _data_flags(run)
    run.set_defaults(func=cmd_run)

    d = sub.add_parser("distill", help="distil a student from an existing sample set (or its WebDataset export)")
    images = d.add_mutually_exclusive_group(required=True)
    images.add_argument("--samples", help="a sample-set folder (with manifest.csv) or a sample-set name")
    images.add_argument("--shards", metavar="DIR", help="WebDataset shards (`dfkd export STORE --format webdataset "
                        "--out DIR`), streamed, never loaded whole")
    d.add_argument("--out", required=True, help="run folder; rerun to resume")
    add_teacher_arguments(d)
    d.add_argument("--student", default="wrn_16_1", help="zoo architecture of the student")
    d.add_argument("--epochs", type=int, default=20)
    d.add_argument("--batch-size", type=int, default=128)
    d.add_argument("--lr", type=float, default=0.05)
    d.add_argument("--temperature", type=float, default=4.0)
    d.add_argument("--ce-weight", type=float, default=0.0, help="weight of CE on the teacher's argmax")
    d.add_argument("--mixup", type=float, default=0.0, help="Beta(a, a) of mixup between batch images (0: off)")
    d.add_argument("--simkd", action="store_true", help="SimKD classifier sharing")
    d.add_argument("--eval", metavar="DATASET", help="real test set evaluated every epoch (e.g. fashion-mnist)")
    d.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16: the networks' forward passes under bfloat16 autocast (about 2x faster on a CPU with "
                        "AMX; losses and weights stay float32)")
    d.add_argument("--device", default="auto")
    _data_flags(d)
    d.set_defaults(func=cmd_distill)


def _data_flags(parser) -> None:
    parser.add_argument("--data-dir", help="folder holding the datasets the run reads (e.g. the one with "
                        "cifar-10-batches-py/); a stage's own data_dir wins. Checked before any work")
    parser.add_argument("--download", action="store_true",
                        help="download a missing dataset (needs network) before any work starts")
