"""`dfkd sweep`: the same seeds under several guidance settings, one grid row per setting,
each row judged by the panel; writes the grid PNG and the figures as JSON beside it.

    dfkd sweep --strengths 0 0.04 0.08 0.16 --per-class 10 --out runs/sweeps/sweep.png
    dfkd sweep --row '{"strength": 0}' --row '{}' --row '{"blur": 1.5, "recurrence": 1}' --out runs/rows.png

Flags: SweepOptions, and GuidanceConfig's steps and GenerateConfig's backbone."""

import json
from dataclasses import fields
from pathlib import Path

from dfkd_core.errors import DfkdError
from dfkd_core.methods.diffdfkd.config import GenerateConfig, GuidanceConfig
from dfkd_core.paths import runs_dir
from dfkd_core.settings import declaration, flag_type
from dfkd_core.teacher.spec import add_teacher_arguments, resolve_teacher, teacher_spec_from_args

from .flags import add_dataclass_flags, from_flags
from .options import DeviceOptions, SweepOptions
from .preflight import check_teacher_source


def settings_rows(base: dict, strengths, row_specs) -> list:
    """[(label, GuidanceConfig)]: one row per strength on top of `base`, then one per JSON row."""
    known = {f.name for f in fields(GuidanceConfig)}
    rows = [(f"strength {s:g}" if s else "unguided", {**base, "strength": s}) for s in strengths or []]
    for spec in row_specs or []:
        try:
            changed = json.loads(spec)
        except json.JSONDecodeError as e:
            raise DfkdError(f"--row must be a JSON object of guidance settings, e.g. '{{\"blur\": 1.5}}'; "
                            f"could not read {spec!r}: {e}")
        if not isinstance(changed, dict) or set(changed) - known:
            raise DfkdError(f"--row {spec!r}: expected a JSON object with keys among {sorted(known)}.")
        label = ", ".join(f"{k} {v}" for k, v in changed.items()) or "defaults"
        rows.append((label, {**base, **changed}))
    if not rows:
        raise DfkdError("Give the rows of the sweep: --strengths S [S ...] and/or --row JSON (one per row).")
    out = []
    for label, d in rows:
        if isinstance(d.get("window"), list):
            d["window"] = tuple(d["window"])
        try:
            out.append((label, GuidanceConfig(**d)))
        except TypeError as e:
            raise DfkdError(f"Sweep row '{label}': {e}")
    return out


def cmd_sweep(args) -> None:
    base = from_flags(args, GuidanceConfig, only=("steps",))
    rows = settings_rows({"steps": base.steps}, args.strengths, args.row)
    for _, cfg in rows:
        cfg.validate()  # before any model is loaded
    out = Path(args.out) if args.out else runs_dir() / "sweeps" / "sweep.png"
    if out.suffix.lower() != ".png":
        raise DfkdError(f"--out names the grid PNG (e.g. sweep.png); got {out}.")
    spec = teacher_spec_from_args(args)
    check_teacher_source(spec)  # told before torch loads
    backbone_name = from_flags(args, GenerateConfig, only=("backbone",), out=str(out)).backbone
    # heavy: keeps torch off the CLI's start-up
    import torch

    from dfkd_core.diffusion.loading import resolve_backbone
    from dfkd_core.io import write_text
    from dfkd_core.judges import JudgePanel, ReferenceSettings
    from dfkd_core.methods.diffdfkd.sweep import sweep
    from dfkd_core.runtime.devices import resolve_device

    torch.set_num_threads(args.threads) if args.threads else None
    device = resolve_device(args.device)
    teacher = resolve_teacher(spec).to(device)
    backbone = resolve_backbone(backbone_name, device)
    reference_cnn = None if args.reference == "none" else "demo"
    panel = JudgePanel.for_demo(cache_dir=args.cache_dir, teacher=teacher, reference_cnn=reference_cnn, device=device,
                                settings=ReferenceSettings(data_dir=args.data_dir))

    def report(i, r):
        judges = "  ".join(f"{k} {100 * v:5.1f}%" for k, v in r["judges"].items())
        print(f"{r['label']:<28} {judges}  Fréchet {r['frechet']:6.2f}  diversity {r['diversity'] or 0:.2f}  "
              f"{r['seconds']:.1f} s", flush=True)

    last = args.first_seed + args.per_class - 1
    print(f"{len(rows)} rows x {args.per_class} seeds per class ({args.first_seed}..{last}), judged by the panel; "
          "texture-proof judges: pixel_knn, pca_linear", flush=True)
    image, figures = sweep(backbone, teacher, panel, rows, args.per_class, args.first_seed, show=args.show,
                           batch_size=args.batch_size, scale=args.scale, on_row=report)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    write_text(out.with_suffix(".json"), json.dumps({"rows": figures, "first_seed": args.first_seed,
                                                     "per_class": args.per_class}, indent=2, default=str) + "\n")
    print(f"grid: {out}\nfigures: {out.with_suffix('.json')}")


def add_commands(sub) -> None:
    p = sub.add_parser("sweep", help="the same seeds under several guidance settings: one judged grid row each")
    strength = declaration(next(f for f in fields(GuidanceConfig) if f.name == "strength"))
    p.add_argument("--strengths", type=flag_type(float, "--strengths", low=strength["low"], high=strength["high"]),
                   nargs="*", help="one row per strength (0 = unguided), other settings at their defaults")
    p.add_argument("--row", action="append", metavar="JSON", help="one row: guidance settings changed from the "
                   "defaults, e.g. '{\"blur\": 1.5, \"recurrence\": 1}' (repeatable)")
    add_dataclass_flags(p, GuidanceConfig, only=("steps",))
    add_dataclass_flags(p, SweepOptions, defaults=True)
    add_teacher_arguments(p)
    add_dataclass_flags(p, GenerateConfig, only=("backbone",))
    add_dataclass_flags(p, DeviceOptions, defaults=True)
    p.set_defaults(func=cmd_sweep)
