"""`dfkd generate`: teacher-guided diffusion samples into a sample store; every setting is a
flag derived from GenerateConfig and GuidanceConfig, or comes from --config."""

from dfkd_core.errors import DfkdError
from dfkd_core.runtime.devices import resolve_device
from dfkd_core.teacher.spec import add_teacher_arguments, teacher_spec_from_args

from .flags import add_dataclass_flags, dataclass_flags


def generate_config(args):
    """The GenerateConfig of `dfkd generate`: from --config (with --out), or from the flags."""
    import yaml

    from dfkd_core.methods.diffdfkd.config import GenerateConfig, GuidanceConfig

    if args.config:
        try:
            raw = yaml.safe_load(open(args.config)) or {}
        except (OSError, yaml.YAMLError) as e:
            raise DfkdError(f"Could not read config {args.config}: {e}")
        if args.out:
            raw["out"] = args.out
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
        g["cutmix"] = {"at_steps": args.cutmix_steps, "alpha": args.cutmix_alpha}
    return GenerateConfig.from_dict({**dataclass_flags(args, GenerateConfig, skip=GENERATE_SPECIAL),
                                     "out": args.out, "teacher": teacher_spec_from_args(args).to_config(),
                                     "classes": args.classes, "device": resolve_device(args.device), "guidance": g})


def cmd_generate(args) -> None:
    from tqdm import tqdm

    from dfkd_core.methods.diffdfkd.generate import run_generation

    cfg = generate_config(args)
    check_generate(cfg, args.config or "dfkd generate")
    from dfkd_core.runtime import distributed
    bar = tqdm(unit="img", dynamic_ncols=True, disable=not distributed.is_main())  # rank 0 shows the whole job

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    store = run_generation(cfg, progress=progress)
    bar.close()
    if distributed.is_main():
        print(f"{len(store.manifest())} samples in {store.root} (manifest: {store.manifest_path})")


def check_generate(cfg, where: str) -> None:
    """The whole generate config checked before any work, as `dfkd run` checks its stages."""
    from dfkd_core.pipeline.checks import check_run
    d = cfg.to_dict()
    stage = {k: v for k, v in d.items() if k not in ("out", "teacher", "device", "seed")}
    check_run({"teacher": d["teacher"], "device": d["device"], "seed": d["seed"], "stages": [{"generate": stage}]},
              where)


GENERATE_SPECIAL = ("out", "teacher", "classes", "device", "guidance")  # flags of their own
GENERATE_HELP = {"backbone": "'demo', a diffusers folder, or a hub id", "per_class": "samples per class",
                 "batch_size": "samples per batch", "seed": "first seed of the plan (sample k of class c of K: "
                 "seed + k*K + c)", "precision": "the denoiser's precision: auto (half on CUDA, fp32 on a CPU), "
                 "fp32, or bf16 autocast (about 2x faster on a CPU with AMX)"}
GUIDANCE_SPECIAL = ("window", "cutmix")  # flags of their own: --window-start/-end, --cutmix-steps/-alpha
GUIDANCE_HELP = {
    "steps": "denoising steps",
    "strength": "guidance strength (0 = unguided)",
    "oh": "weight of the teacher's cross-entropy",
    "bn": "weight of the BN-statistics loss (the teacher needs BatchNorm layers)",
    "adv": "weight of the adversarial loss -KL(T||S) against an online student trained on each batch",
    "adv_student": "zoo architecture of the online student (--adv)",
    "adv_steps": "KD steps of the online student per batch",
    "adv_lr": "Adam learning rate of the online student",
    "every": "from --every-from on, a fresh teacher gradient every k-th guided step, the direction reused between",
    "every_from": "fraction of the guided steps, from the first, with a fresh gradient each",
    "mode": "full: gradient through the denoiser; x0: MPGD-style, without its Jacobian",
    "eta": "0: DDIM, 1: DDPM-like ancestral sampling",
    "prompt": "prompt template for text-conditioned backbones ({class} is replaced)",
    "candidates": "starting noises per sample; the teacher keeps the one it rates most likely the target",
    "select_at": "fraction of the trajectory before the teacher picks a candidate",
    "blur": "std, in latent pixels, of a Gaussian low-pass on the teacher's gradient (0: off)",
    "noise_copies": "randomized smoothing: average the gradient over this many noisy copies of x0 (0: off)",
    "noise_sigma": "std of the noise of those copies (x0 units; images span [-1, 1])",
    "recurrence": "re-noise and redo each guided step this many times (universal guidance; 0: off)",
}


def add_commands(sub) -> None:
    from dfkd_core.methods.diffdfkd.config import MODES, GenerateConfig, GuidanceConfig
    from dfkd_core.runtime.precision import BACKBONE_PRECISIONS
    gen = sub.add_parser("generate", help="teacher-guided diffusion samples into a sample store")
    gen.add_argument("--config", help="YAML file with the settings below (flags are ignored then, but --out)")
    gen.add_argument("--out", help="run folder: config.yaml, images/, metadata.csv, settings.json; rerun to resume")
    add_teacher_arguments(gen)  # --teacher and --teacher-arch/-num-classes/-input-size/-mean/-std/-normalization
    gen.add_argument("--classes", type=int, nargs="+", help="class indices (default: all)")
    add_dataclass_flags(gen, GenerateConfig, GENERATE_HELP, skip=GENERATE_SPECIAL,
                        choices={"precision": BACKBONE_PRECISIONS})
    add_dataclass_flags(gen, GuidanceConfig, GUIDANCE_HELP, skip=GUIDANCE_SPECIAL, choices={"mode": MODES})
    window = GuidanceConfig().window
    gen.add_argument("--window-start", type=float, help=f"guide from this fraction of the trajectory (default {window[0]})")
    gen.add_argument("--window-end", type=float, help=f"guide until this fraction of the trajectory (default {window[1]})")
    gen.add_argument("--cutmix-steps", type=int, nargs="*", help="Latent CutMix at these step indices")
    gen.add_argument("--cutmix-alpha", type=float, default=1.0)
    gen.add_argument("--device", default="auto")
    gen.set_defaults(func=cmd_generate)
