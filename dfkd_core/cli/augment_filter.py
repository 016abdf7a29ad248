"""`dfkd augment` (DDA variations into a sample store) and `dfkd filter` (scores, the
ω/τ filter, and the kept set); both resume when rerun. Their flags come from AugmentSettings
and FilterSettings."""

from pathlib import Path

from dfkd_core.filter.config import FilterSettings
from dfkd_core.methods.dda.config import AugmentSettings
from dfkd_core.settings import check_types
from dfkd_core.teacher.spec import add_teacher_arguments, resolve_teacher, teacher_spec_from_args

from .flags import add_dataclass_flags, from_flags
from .options import DeviceOptions
from .preflight import check_teacher_source
from .progress import single


def open_store(name: str):
    from dfkd_core.store.sample_sets import open_sample_set  # heavy: keeps torch off the CLI's start-up
    return open_sample_set(name)


def cmd_augment(args) -> None:
    cfg = from_flags(args, AugmentSettings)
    cfg.validate()
    spec = teacher_spec_from_args(args)
    check_teacher_source(spec)  # told before torch loads
    # heavy: keeps torch off the CLI's start-up
    from dfkd_core.diffusion.loading import resolve_backbone
    from dfkd_core.methods.dda.variations import augment_store, source_rows
    from dfkd_core.runtime.devices import resolve_device

    store = open_store(args.store)
    if args.out:  # the sources are copied, so the new store is complete on its own
        store = store.copy_to(source_rows(store, args.ids)["id"], args.out)
    device = resolve_device(args.device)
    teacher = resolve_teacher(spec).to(device)
    backbone = resolve_backbone(cfg.backbone, device)
    bars, progress = single("augment")
    try:
        made = augment_store(store, backbone, teacher, cfg, source_ids=args.ids, overwrite=args.overwrite,
                             backbone_name=cfg.backbone, progress=progress)
    finally:
        bars.close()
    print(f"{made} new variations; {len(store.manifest())} samples in {store.root} (metadata: {store.manifest_path})")


def cmd_filter(args) -> None:
    cfg = from_flags(args, FilterSettings)
    check_types(cfg, "dfkd filter")
    spec = teacher_spec_from_args(args)
    check_teacher_source(spec)  # told before torch loads
    # heavy: keeps torch off the CLI's start-up
    from dfkd_core.filter.scores import class_counts, export_kept, score_store, write_scores
    from dfkd_core.runtime.devices import resolve_device

    store = open_store(args.store)
    teacher = resolve_teacher(spec).to(resolve_device(args.device))
    bars, progress = single("filter")
    try:
        scores = score_store(store, teacher, cfg.omega, cfg.tau, embedding=cfg.embedding, clip_model=cfg.clip_model,
                             batch_size=cfg.batch_size, progress=progress)
    finally:
        bars.close()
    out = Path(args.scores or store.root / "scores.csv")
    write_scores(scores, out)
    print(class_counts(scores).to_string(index=False))
    kept = int(scores["kept"].sum())
    print(f"kept {kept} of {len(scores)} (ω={cfg.omega}, τ={cfg.tau}, {cfg.embedding} embedding); scores: {out}")
    if args.export:
        dest = export_kept(store, scores, args.export)
        print(f"kept set: {dest.root} ({len(dest.manifest())} samples)")


def add_commands(sub) -> None:
    aug = sub.add_parser("augment", help="DDA: SDEdit variations of a sample store's samples, into its metadata")
    aug.add_argument("store", help="sample store folder (or sample-set name)")
    aug.add_argument("--out", help="write sources + variations to this new store instead of the given one")
    aug.add_argument("--ids", nargs="+", help="only these source ids (default: every source)")
    aug.add_argument("--overwrite", action="store_true", help="remake variations stored with other settings")
    add_dataclass_flags(aug, AugmentSettings)
    add_teacher_arguments(aug)
    add_dataclass_flags(aug, DeviceOptions, defaults=True)
    aug.set_defaults(func=cmd_augment)

    flt = sub.add_parser("filter", help="scores of a store's samples and the DDA filter (cosine ω, confidence τ)")
    flt.add_argument("store", help="sample store folder (or sample-set name)")
    flt.add_argument("--scores-out", "--scores", dest="scores", metavar="CSV",
                     help="output: where the scores CSV is written (default STORE/scores.csv); an existing file "
                          "dfkd did not write is refused")
    flt.add_argument("--export", metavar="DIR", help="output: a new store for the kept samples (refused if the "
                     "folder holds anything but a store dfkd made)")
    add_dataclass_flags(flt, FilterSettings)
    add_teacher_arguments(flt)
    add_dataclass_flags(flt, DeviceOptions, defaults=True)
    flt.set_defaults(func=cmd_filter)
