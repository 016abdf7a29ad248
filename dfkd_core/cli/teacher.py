"""`dfkd teacher inspect` (load a teacher and report it) and `dfkd teacher train` (a zoo
classifier trained on real data, checkpointed every epoch: rerun to resume)."""

import shlex
import time
from pathlib import Path

from dfkd_core.distill.config import TrainConfig
from dfkd_core.errors import DfkdError
from dfkd_core.models.names import canonical_arch

from .estimate import print_training_estimate
from .flags import add_dataclass_flags, from_flags
from .options import DeviceOptions, InspectOptions, TeacherTrainOptions
from .preflight import check_teacher_source
from .progress import PhaseBars


def cmd_teacher_inspect(args) -> None:
    check_teacher_source(args.checkpoint)  # a wrong path is told before torch loads
    # heavy: keeps torch off the CLI's start-up
    from dfkd_core.teacher.loading import load_teacher
    from dfkd_core.teacher.report import describe_teacher, evaluate_teacher

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
    cfg = from_flags(args, TrainConfig)  # checked before any data or model loads
    arch = canonical_arch(args.arch)
    # heavy: keeps torch off the CLI's start-up
    import torch

    from dfkd_core.data import load_dataset
    from dfkd_core.distill.supervised import train_classifier
    from dfkd_core.models.checkpoints import save_classifier
    from dfkd_core.models.zoo import build_model
    from dfkd_core.runtime.devices import device_label, resolve_device
    from dfkd_core.teacher.preprocess import Preprocess

    device = resolve_device(args.device)
    train_set = load_dataset(args.dataset, args.split, root=args.data_dir, download=args.download)
    test_set = load_dataset(args.dataset, "test", root=args.data_dir, download=args.download)
    pixels = train_set.images.float().div(255)
    mean = pixels.mean((0, 2, 3)).tolist()
    std = pixels.std((0, 2, 3)).tolist()
    del pixels
    model = build_model(arch, len(train_set.class_names), train_set.channels)
    pre = Preprocess(train_set.channels, train_set.size, mean, std)
    work = Path(args.work_dir or f"runs/train-{Path(args.out).name}")
    print_training_estimate(arch, cfg.epochs, len(train_set), device)
    torch.manual_seed(cfg.seed)
    bars, t0 = PhaseBars(), time.time()
    try:
        rows = train_classifier(model, pre, train_set, test_set, cfg, work, device=device,
                                progress=lambda done, total: bars("train", done, total),
                                on_epoch=lambda row: bars.metrics("train", row))
    finally:
        bars.close()
    model.eval().cpu()
    card = {"arch": arch, "num_classes": len(train_set.class_names), "in_channels": train_set.channels,
            "input_size": train_set.size, "mean": mean, "std": std, "class_names": train_set.class_names,
            "data": f"{train_set.name} ({len(train_set)} images); evaluated on {test_set.name}",
            "seed": cfg.seed, "epochs": cfg.epochs, "train_config": vars(cfg),
            "command": "dfkd " + shlex.join(args.argv), "wall_time_s": round(sum(r["epoch_seconds"] for r in rows), 1),
            "device": device_label(device),
            "torch": torch.__version__, "test_accuracy": rows[-1]["test_acc"], "test_set": test_set.name,
            "metrics": [{k: r[k] for k in ("epoch", "train_loss", "test_acc")} for r in rows]}
    weights, card_path = save_classifier(args.out, model, card)
    print(f"test accuracy {100 * rows[-1]['test_acc']:.2f}% -> {weights} and {card_path} "
          f"({time.time() - t0:.0f} s this session)")


def add_commands(sub) -> None:
    teacher = sub.add_parser("teacher", help="inspect or train a teacher").add_subparsers(dest="action", required=True)

    ins = teacher.add_parser("inspect", help="load a teacher and report it")
    ins.add_argument("--checkpoint", required=True,
                     help="card (.json), weights (.safetensors/.pth), transformers folder, or hub id")
    add_dataclass_flags(ins, InspectOptions, defaults=True)
    ins.set_defaults(func=cmd_teacher_inspect)

    tr = teacher.add_parser("train", help="train a zoo classifier on a real dataset (checkpointed every epoch)")
    tr.add_argument("--arch", required=True, help="zoo architecture, e.g. wrn_16_2")
    tr.add_argument("--out", required=True, help="output path stem: writes OUT.safetensors and OUT.json")
    add_dataclass_flags(tr, TeacherTrainOptions, defaults=True)
    add_dataclass_flags(tr, TrainConfig)
    add_dataclass_flags(tr, DeviceOptions, defaults=True)
    tr.set_defaults(func=cmd_teacher_train)
