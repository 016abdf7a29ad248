"""`dfkd hidfd`: HiDFD from the command line — collect a few real images, train the
teacher-guided GAN, write its samples, and (with --student) distil a student on them mixed
with the real images repeated --real-repeat times. Builds a run config (written to the run
folder as config.yaml, so `dfkd run` reproduces it) or runs the one given with --config."""

from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.methods.hidfd.config import GANConfig

from .run import _data_flags, execute, run_folder

GAN_FLAGS = ("steps", "batch_size", "g_ch", "d_ch", "z_dim", "lr_g", "lr_d", "d_steps", "adc", "oh", "bn", "ms",
             "cfs_beta", "cfs_decay", "ema_decay", "real_bank")


def build_config(args) -> dict:
    real = {"source": args.real, "seed": args.seed}
    if args.split:
        real["split"] = args.split
    if args.per_class:
        real["per_class"] = args.per_class
    else:
        real["count"] = args.count
    gan = {k: getattr(args, k) for k in GAN_FLAGS if getattr(args, k) is not None}
    gan.update(feature_integration=not args.no_feature_integration, cfs=not args.no_cfs)
    if args.augment is not None:
        gan["augment"] = args.augment
    GANConfig.from_dict(dict(gan))  # fail early on bad settings
    stages = [{"hidfd": {"real": real, "gan": gan, "count": args.samples}}]
    if args.student:
        distill = {"student": args.student, "simkd": args.simkd, "real_repeat": args.real_repeat,
                   "epochs": args.epochs, "onnx": not args.no_onnx}
        if args.eval:
            distill["eval"] = args.eval
        stages.append({"distill": distill})
    return {"name": Path(args.out).name if args.out else "hidfd", "teacher": args.teacher, "device": args.device,
            "seed": args.seed, "stages": stages}


def cmd_hidfd(args) -> None:
    if args.config:
        from dfkd_core.pipeline.config import read_config
        cfg = read_config(args.config)
        if not any("hidfd" in st for st in cfg["stages"]):
            raise DfkdError(f"{args.config} has no hidfd stage; use `dfkd run` for other configs.")
    else:
        if not args.out:
            raise DfkdError("Pass --out FOLDER (or --config FILE.yaml).")
        cfg = build_config(args)
    execute(cfg, run_folder(cfg, args.out), args)


def add_commands(sub) -> None:
    h = sub.add_parser("hidfd", help="HiDFD: a teacher-guided GAN from a few real images, then a student")
    h.add_argument("--config", help="a run config with a hidfd stage (the flags below are ignored then, but --out)")
    h.add_argument("--out", help="run folder; rerun to resume")
    h.add_argument("--teacher", default="demo", help="'demo' or a teacher source (see teacher inspect)")
    h.add_argument("--real", default="demo",
                   help="the few real images: 'demo' (Fashion-MNIST held-out pool), a dataset name, an image "
                        "folder or a .zip of images")
    h.add_argument("--split", help="dataset split (demo: pool)")
    h.add_argument("--count", type=int, default=600, help="real images in total")
    h.add_argument("--per-class", type=int, help="real images per teacher-predicted class (instead of --count)")
    h.add_argument("--samples", type=int, default=2000, help="synthetic samples to write")
    h.add_argument("--seed", type=int, default=0)
    g = h.add_argument_group("GAN (defaults: GANConfig)")
    defaults = GANConfig()
    for name in GAN_FLAGS:
        kind = int if isinstance(getattr(defaults, name), int) else float
        g.add_argument("--" + name.replace("_", "-"), type=kind, help=f"default {getattr(defaults, name)}")
    g.add_argument("--augment", nargs="*", choices=["translation", "cutout", "flip"],
                   help=f"DiffAugment policies (default {' '.join(defaults.augment)})")
    g.add_argument("--no-feature-integration", action="store_true", help="no teacher-feature branch in D")
    g.add_argument("--no-cfs", action="store_true", help="no category frequency smoothing")
    s = h.add_argument_group("student (optional)")
    s.add_argument("--student", help="zoo architecture: also distil a student (e.g. wrn_16_1)")
    s.add_argument("--real-repeat", type=int, default=4, help="data inflation: real images repeated r times")
    s.add_argument("--epochs", type=int, default=20)
    s.add_argument("--simkd", action="store_true",
                   help="SimKD classifier sharing instead of plain KD (4 points lower on the demo kit: BENCHMARKS.md)")
    s.add_argument("--eval", metavar="DATASET", help="real test set (e.g. fashion-mnist)")
    s.add_argument("--no-onnx", action="store_true", help="skip the student's ONNX export")
    h.add_argument("--device", default="auto")
    _data_flags(h)
    h.set_defaults(func=cmd_hidfd)
