"""`dfkd generate`: teacher-guided diffusion samples into a sample store; every setting is a
flag derived from GenerateConfig and GuidanceConfig, or comes from --config."""

import shlex
from contextlib import nullcontext

from dfkd_core.errors import DfkdError
from dfkd_core.methods.diffdfkd.config import MAX_STEPS, CutMixConfig, GenerateConfig, GuidanceConfig
from dfkd_core.models.inputs import MAX_CLASSES
from dfkd_core.pipeline.lock import run_lock
from dfkd_core.settings import flag_type
from dfkd_core.teacher.spec import add_teacher_arguments, teacher_spec_from_args

from .flags import add_dataclass_flags, dataclass_flags
from .options import DeviceOptions
from .preflight import check_teacher_source, run_folder_of
from .progress import single


def generate_config(args):
    """The GenerateConfig of `dfkd generate`: from --config (with --out), or from the flags."""
    import yaml  # heavy: keeps yaml off the CLI's start-up

    if args.config:
        try:
            raw = yaml.safe_load(open(args.config)) or {}
        except (OSError, yaml.YAMLError) as e:
            raise DfkdError(f"Could not read config {args.config}: {e}")
        if args.out:
            raw["out"] = args.out
        elif run_folder_of(args.config, "backbone.json"):  # moved or copied: the run is where its config is
            raw["out"] = str(run_folder_of(args.config, "backbone.json"))
        if "out" not in raw:
            raise DfkdError(f"{args.config} names no output folder: add `out:` or pass --out.")
        return GenerateConfig.from_dict(raw)
    if not args.out:
        raise DfkdError("Pass --out FOLDER (or --config FILE.yaml).")
    g = dataclass_flags(args, GuidanceConfig, skip=GUIDANCE_SPECIAL)
    if args.window_start is not None or args.window_end is not None:
        start, end = GuidanceConfig().window
        g["window"] = (start if args.window_start is None else args.window_start,
                       end if args.window_end is None else args.window_end)
    if args.cutmix_steps:
        g["cutmix"] = {"at_steps": args.cutmix_steps, **dataclass_flags(args, CutMixConfig, prefix="cutmix_")}
    teacher = teacher_spec_from_args(args).to_config()
    check_teacher_source(teacher)  # a wrong path is told before torch loads
    from dfkd_core.runtime.devices import resolve_device  # heavy: keeps torch off the CLI's start-up
    return GenerateConfig.from_dict({**dataclass_flags(args, GenerateConfig, skip=GENERATE_SPECIAL),
                                     "out": args.out, "teacher": teacher, "classes": args.classes,
                                     "device": resolve_device(args.device), "guidance": g})


def cmd_generate(args) -> None:
    cfg = generate_config(args)
    check_teacher_source(cfg.teacher)
    # heavy: keeps torch off the CLI's start-up
    from dfkd_core.methods.diffdfkd.generate import run_generation
    from dfkd_core.runtime import distributed

    check_generate(cfg, args.config or "dfkd generate")
    main = distributed.is_main()  # rank 0 shows the whole job and holds the folder
    bars, progress = single("generate", enabled=main)
    try:
        with run_lock(cfg.out, "dfkd " + shlex.join(map(str, args.argv))) if main else nullcontext():
            store = run_generation(cfg, progress=progress)
    finally:
        bars.close()
    if distributed.is_main():
        print(f"{len(store.manifest())} samples in {store.root} (metadata: {store.manifest_path})")


def check_generate(cfg, where: str) -> None:
    """The whole generate config checked before any work, as `dfkd run` checks its stages."""
    from dfkd_core.pipeline.checks import check_run  # heavy: keeps torch off the CLI's start-up
    d = cfg.to_dict()
    stage = {k: v for k, v in d.items() if k not in ("out", "teacher", "device", "seed")}
    check_run({"teacher": d["teacher"], "device": d["device"], "seed": d["seed"], "stages": [{"generate": stage}]},
              where)


GENERATE_SPECIAL = ("out", "teacher", "classes", "device", "guidance")  # flags of their own
GUIDANCE_SPECIAL = ("window", "cutmix")  # flags of their own: --window-start/-end, --cutmix-steps/-alpha


def add_commands(sub) -> None:
    gen = sub.add_parser("generate", help="teacher-guided diffusion samples into a sample store")
    gen.add_argument("--config", help="YAML file with the settings below (flags are ignored then, but --out)")
    gen.add_argument("--out", help="run folder: config.yaml, images/, metadata.csv, settings.json; rerun to resume")
    add_teacher_arguments(gen)  # --teacher and --teacher-arch/-num-classes/-input-size/-mean/-std/-normalization
    gen.add_argument("--classes", type=flag_type(int, "--classes", low=0, high=MAX_CLASSES - 1), nargs="+",
                     help="class indices (default: all)")
    add_dataclass_flags(gen, GenerateConfig, skip=GENERATE_SPECIAL)
    add_dataclass_flags(gen, GuidanceConfig, skip=GUIDANCE_SPECIAL)
    window = GuidanceConfig().window
    fraction = flag_type(float, "--window-start/--window-end", low=0, high=1)
    gen.add_argument("--window-start", type=fraction, help=f"guide from this fraction of the trajectory (default "
                     f"{window[0]:g}; 0 to 1)")
    gen.add_argument("--window-end", type=fraction, help=f"guide until this fraction of the trajectory (default "
                     f"{window[1]:g}; 0 to 1)")
    gen.add_argument("--cutmix-steps", type=flag_type(int, "--cutmix-steps", low=0, high=MAX_STEPS - 1), nargs="*",
                     help="Latent CutMix at these step indices (0 = the first, noisiest step; default: off)")
    add_dataclass_flags(gen, CutMixConfig, only=("alpha",), names={"alpha": "cutmix_alpha"}, prefix="cutmix_")
    add_dataclass_flags(gen, DeviceOptions, defaults=True)
    gen.set_defaults(func=cmd_generate)
