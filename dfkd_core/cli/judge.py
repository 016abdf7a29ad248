"""`dfkd judge STORE`: the judge panel's figures for a sample store, a per-class grid PNG,
and judges.json (every figure, for scripts). Flags: ReferenceSettings and JudgeOptions."""

import json
from pathlib import Path

from dfkd_core.judges.settings import ReferenceSettings
from dfkd_core.teacher.spec import add_teacher_arguments, resolve_teacher, teacher_spec_from_args

from .flags import add_dataclass_flags, from_flags
from .options import DeviceOptions, JudgeOptions
from .preflight import check_teacher_source


def cmd_judge(args) -> None:
    settings = from_flags(args, ReferenceSettings)
    settings.validate()
    spec = teacher_spec_from_args(args)
    for teacher in (spec, None if args.reference in ("demo", "none") else args.reference):
        check_teacher_source(teacher)  # told before torch loads
    # heavy: keeps torch off the CLI's start-up
    import torch

    from dfkd_core.io import write_text
    from dfkd_core.judges import JudgePanel, format_report, save_grid, store_samples
    from dfkd_core.runtime.devices import resolve_device
    from dfkd_core.store.sample_sets import open_sample_set

    store = open_sample_set(args.store)
    images, targets, _ = store_samples(store)  # read first: a bad store fails before any fitting
    device = resolve_device(args.device)
    teacher = resolve_teacher(spec)
    reference_cnn = None if args.reference == "none" else (
        "demo" if args.reference == "demo" else resolve_teacher(args.reference))
    print(f"judges: fitting or loading from {args.cache_dir or 'the runs cache'} ...", flush=True)
    panel = JudgePanel.for_demo(cache_dir=args.cache_dir, teacher=teacher, reference_cnn=reference_cnn,
                                device=device, settings=settings)
    with torch.no_grad():
        result = {"store": str(store.root), **panel.judge(images, targets)}
    # beside the store, not inside it: a store folder holds only its samples (it loads as an image dataset)
    root = store.root.resolve()
    out = Path(args.out) if args.out else root.with_name(root.name + "-judges")
    grid = save_grid(images, targets, panel.class_names, out / "grid.png", columns=args.columns, scale=args.scale)
    write_text(out / "judges.json", json.dumps({**result, "grid": str(grid)}, indent=2) + "\n")
    print(f"store: {store.root}")
    print(format_report(result))
    print(f"grid: {grid}\nfigures: {out / 'judges.json'}")


def add_commands(sub) -> None:
    p = sub.add_parser("judge", help="judge a sample store: teacher, an independent CNN, texture-proof pixel "
                       "judges fit on real images, a Fréchet distance, diversity, and a per-class grid")
    p.add_argument("store", help="sample store folder (or sample-set name)")
    add_dataclass_flags(p, JudgeOptions, defaults=True)
    add_dataclass_flags(p, ReferenceSettings)
    add_teacher_arguments(p)
    add_dataclass_flags(p, DeviceOptions, defaults=True)
    p.set_defaults(func=cmd_judge)
