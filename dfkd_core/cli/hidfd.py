"""`dfkd hidfd`: HiDFD from the command line — collect a few real images, train the
teacher-guided GAN, write its samples, and (with --student) distil a student on them mixed
with the real images repeated --real-repeat times. Builds a run config (written to the run
folder as config.yaml, so `dfkd run` reproduces it) or runs the one given with --config.
Every flag comes from the hidfd and distill stages' settings (CollectSettings, GANConfig,
HiDFDSettings, DistillSettings) and HiDFDStudentOptions."""

from pathlib import Path

from dfkd_core.distill.config import DistillSettings
from dfkd_core.errors import DfkdError
from dfkd_core.methods.hidfd.config import POLICIES, CollectSettings, GANConfig, HiDFDSettings
from dfkd_core.teacher.spec import add_teacher_arguments, teacher_spec_from_args

from .flags import add_dataclass_flags, dataclass_flags
from .options import DataOptions, DeviceOptions, HiDFDStudentOptions
from .preflight import check_teacher_source, config_teacher
from .run import execute, run_folder

COLLECT = {"only": ("source", "split", "count", "per_class"), "names": {"source": "real"}, "prefix": "real_"}
GAN = {"skip": ("seed", "augment"), "prefix": "gan_"}  # seed: the run's; augment: a list, its own flag
STAGE = {"only": ("count", "seed"), "names": {"count": "samples"}, "prefix": "stage_"}
DISTILL = {"only": ("epochs", "temperature", "simkd", "eval", "eval_subset", "precision", "onnx"),
           "prefix": "distill_"}


def build_config(args) -> dict:
    real = dataclass_flags(args, CollectSettings, **_read(COLLECT))
    if "count" not in real and "per_class" not in real:  # the stage's own default collection
        real["count"] = HiDFDSettings().real.count
    gan = dataclass_flags(args, GANConfig, **_read(GAN))
    if args.augment is not None:
        gan["augment"] = args.augment
    GANConfig.from_dict(dict(gan))  # fail early on bad settings
    stage = dataclass_flags(args, HiDFDSettings, **_read(STAGE))
    seed = stage.pop("seed", None)
    stages = [{"hidfd": {"real": real, "gan": gan, **stage}}]
    if args.student:
        distill = {"student": args.student, "real_repeat": args.real_repeat,
                   **dataclass_flags(args, DistillSettings, **_read(DISTILL))}
        DistillSettings(**distill)
        stages.append({"distill": distill})
    cfg = {"name": Path(args.out).name if args.out else "hidfd", "teacher": teacher_spec_from_args(args).to_config(),
           "device": args.device, "stages": stages}
    return cfg if seed is None else {**cfg, "seed": seed}


def _read(spec: dict) -> dict:
    return {k: v for k, v in spec.items() if k != "names"}


def cmd_hidfd(args) -> None:
    if args.config:
        check_teacher_source(config_teacher(args.config))  # told before torch loads
        from dfkd_core.pipeline.config import read_config  # heavy: keeps torch off the CLI's start-up
        cfg = read_config(args.config)
        if not any("hidfd" in st for st in cfg["stages"]):
            raise DfkdError(f"{args.config} has no hidfd stage; use `dfkd run` for other configs.")
    else:
        if not args.out:
            raise DfkdError("Pass --out FOLDER (or --config FILE.yaml).")
        cfg = build_config(args)
    execute(cfg, run_folder(cfg, args.out, args.config), args)


def add_commands(sub) -> None:
    h = sub.add_parser("hidfd", help="HiDFD: a teacher-guided GAN from a few real images, then a student")
    h.add_argument("--config", help="a run config with a hidfd stage (the flags below are ignored then, but --out)")
    h.add_argument("--out", help="run folder; rerun to resume")
    add_teacher_arguments(h)
    c = h.add_argument_group("the few real images (labelled by the teacher)")
    add_dataclass_flags(c, CollectSettings, **COLLECT, shown={"count": HiDFDSettings().real.count})
    add_dataclass_flags(h, HiDFDSettings, **STAGE)
    g = h.add_argument_group("GAN (GANConfig)")
    add_dataclass_flags(g, GANConfig, **GAN)
    g.add_argument("--augment", nargs="*", choices=POLICIES,
                   help=f"DiffAugment policies (default {' '.join(GANConfig().augment)}; none: no augmentation)")
    s = h.add_argument_group("student (optional)")
    add_dataclass_flags(s, HiDFDStudentOptions, defaults=True)
    add_dataclass_flags(s, DistillSettings, **DISTILL)
    add_dataclass_flags(h, DeviceOptions, defaults=True)
    add_dataclass_flags(h, DataOptions, defaults=True)
    h.set_defaults(func=cmd_hidfd)
