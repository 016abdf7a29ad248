"""Command line: `dfkd teacher inspect|train ...`.

User mistakes (DfkdError) print one paragraph and exit with code 2; bugs keep their traceback."""

import argparse
import importlib
import shlex
import sys
import time

from .devices import device_label, resolve_device
from .errors import DfkdError
from .cli_flags import add_dataclass_flags, dataclass_flags
from .teacher_spec import add_teacher_arguments, teacher_spec_from_args


def cmd_teacher_inspect(args) -> None:
    from .teacher_loading import load_teacher
    from .teacher_report import describe_teacher, evaluate_teacher

    teacher = load_teacher(args.checkpoint, arch=args.arch, num_classes=args.num_classes,
                           local_files_only=not args.allow_download, trust_remote_code=args.trust_remote_code)
    d = describe_teacher(teacher)
    names = ", ".join(d["class_names"][:10]) + (", ..." if d["classes"] > 10 else "")
    print(f"source:        {d['source']}")
    print(f"format:        {d['format']}")
    print(f"architecture:  {d['architecture']}")
    print(f"parameters:    {d['parameters']:,}")
    print(f"input:         {d['input']}")
    print(f"classes:       {d['classes']} ({names})")
    print(f"BN layers:     {d['bn_layers']}")
    if "card_test_accuracy" in d:
        print(f"card accuracy: {100 * d['card_test_accuracy']:.2f}% on {d.get('card_test_set', 'its test set')}")
    if args.eval:
        try:
            r = evaluate_teacher(teacher, args.eval, args.split, args.data_dir, download=args.download)
        except DfkdError as e:
            if "not found" not in str(e):
                raise
            print(f"test accuracy: not measured ({e})")
            return
        print(f"test accuracy: {100 * r['accuracy']:.2f}% on {r['dataset']} ({r['images']} images)")


def cmd_teacher_train(args) -> None:
    import torch
    from .data import load_dataset
    from .models.checkpoints import save_classifier
    from .models.zoo import build_model, canonical_arch
    from .preprocess import Preprocess
    from .train import TrainConfig, train_classifier
    from pathlib import Path
    from tqdm import tqdm

    device = resolve_device(args.device)
    train_set = load_dataset(args.dataset, args.split, root=args.data_dir, download=args.download)
    test_set = load_dataset(args.dataset, "test", root=args.data_dir, download=args.download)
    pixels = train_set.images.float().div(255)
    mean = pixels.mean((0, 2, 3)).tolist()
    std = pixels.std((0, 2, 3)).tolist()
    del pixels
    arch = canonical_arch(args.arch)
    model = build_model(arch, len(train_set.class_names), train_set.channels)
    pre = Preprocess(train_set.channels, train_set.size, mean, std)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                      weight_decay=args.weight_decay, label_smoothing=args.label_smoothing)
    work = Path(args.work_dir or f"runs/train-{Path(args.out).name}")
    torch.manual_seed(args.seed)
    bar = tqdm(total=args.epochs, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n:.2f}/{total} epochs [{elapsed}<{remaining}{postfix}]")
    t0 = time.time()
    rows = train_classifier(model, pre, train_set, test_set, cfg, work, device=device,
                            progress=lambda done, total: bar.update(done - bar.n),
                            on_epoch=lambda r: bar.set_postfix(test_acc=r["test_acc"], loss=r["train_loss"]))
    bar.close()
    model.eval().cpu()
    card = {"arch": arch, "num_classes": len(train_set.class_names), "in_channels": train_set.channels,
            "input_size": train_set.size, "mean": mean, "std": std, "class_names": train_set.class_names,
            "data": f"{train_set.name} ({len(train_set)} images); evaluated on {test_set.name}",
            "seed": args.seed, "epochs": args.epochs, "train_config": vars(cfg),
            "command": "dfkd " + shlex.join(args.argv), "wall_time_s": round(sum(r["epoch_seconds"] for r in rows), 1),
            "device": device_label(device),
            "torch": torch.__version__, "test_accuracy": rows[-1]["test_acc"], "test_set": test_set.name,
            "metrics": [{k: r[k] for k in ("epoch", "train_loss", "test_acc")} for r in rows]}
    weights, card_path = save_classifier(args.out, model, card)
    print(f"test accuracy {100 * rows[-1]['test_acc']:.2f}% -> {weights} and {card_path} "
          f"({time.time() - t0:.0f} s this session)")


def generate_config(args):
    """The GenerateConfig of `dfkd generate`: from --config (with --out), or from the flags."""
    import yaml
    from .generate import GenerateConfig
    from .guidance import GuidanceConfig

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
    from .generate import run_generation

    cfg = generate_config(args)
    check_generate(cfg, args.config or "dfkd generate")
    from . import distributed
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
    from .run_checks import check_run
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


def build_parser() -> argparse.ArgumentParser:
    from .generate import GenerateConfig
    from .guidance import MODES, GuidanceConfig
    from .precision import BACKBONE_PRECISIONS
    p = argparse.ArgumentParser(prog="dfkd", description="Data-free knowledge distillation with generative models.")
    sub = p.add_subparsers(dest="command", required=True)
    teacher = sub.add_parser("teacher", help="inspect or train a teacher").add_subparsers(dest="action", required=True)

    ins = teacher.add_parser("inspect", help="load a teacher and report it")
    ins.add_argument("--checkpoint", required=True,
                     help="card (.json), weights (.safetensors/.pth), transformers folder, or hub id")
    ins.add_argument("--arch", help="zoo architecture (e.g. wrn_40_2) or torchvision:NAME, for bare weights")
    ins.add_argument("--num-classes", type=int)
    ins.add_argument("--eval", metavar="DATASET", help="fashion-mnist, cifar10, cifar100 or an image folder")
    ins.add_argument("--split", default="test")
    ins.add_argument("--data-dir", help="folder holding the dataset (default: $DFKD_DATA, system locations)")
    ins.add_argument("--download", action="store_true", help="download the --eval dataset (needs network)")
    ins.add_argument("--allow-download", action="store_true", help="let transformers fetch a hub id")
    ins.add_argument("--trust-remote-code", action="store_true", help="run a hub model's own code (only if you trust it)")
    ins.set_defaults(func=cmd_teacher_inspect)

    tr = teacher.add_parser("train", help="train a zoo classifier on a real dataset")
    tr.add_argument("--arch", required=True)
    tr.add_argument("--dataset", default="fashion-mnist")
    tr.add_argument("--split", default="teacher-train")
    tr.add_argument("--data-dir")
    tr.add_argument("--download", action="store_true", help="download the dataset (needs network)")
    tr.add_argument("--epochs", type=int, default=15)
    tr.add_argument("--batch-size", type=int, default=128)
    tr.add_argument("--lr", type=float, default=0.1)
    tr.add_argument("--weight-decay", type=float, default=5e-4)
    tr.add_argument("--label-smoothing", type=float, default=0.0)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--device", default="auto")
    tr.add_argument("--out", required=True, help="output path stem: writes OUT.safetensors and OUT.json")
    tr.add_argument("--work-dir", help="checkpoints and metrics (default runs/train-NAME); rerun to resume")
    tr.set_defaults(func=cmd_teacher_train)

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
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    return p


# Further subcommands, one module each; each defines add_commands(subparsers).
COMMAND_MODULES = ["dfkd_core.commands.run", "dfkd_core.commands.hidfd", "dfkd_core.commands.augment_filter",
                   "dfkd_core.commands.judge", "dfkd_core.commands.export_store",
                   "dfkd_core.commands.sweep"]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in cards, so a run says how to reproduce it
    try:
        args.func(args)
    except DfkdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: runs resume when the same command is run again
        print("\ninterrupted (rerun the same command to resume)", file=sys.stderr)
        return 130
    except OSError as e:  # a folder that cannot be written, a full disk, a file that vanished
        where = f" {e.filename}" if e.filename else ""
        print(f"error: could not read or write{where}: {e.strerror or e}. Check the path and its permissions.",
              file=sys.stderr)
        return 2
    finally:
        from .distributed import cleanup
        cleanup()  # under torchrun / accelerate launch: leave the process group cleanly
    return 0


if __name__ == "__main__":
    sys.exit(main())
