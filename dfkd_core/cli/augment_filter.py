"""`dfkd augment` (DDA variations into a sample store) and `dfkd filter` (scores, the
ω/τ filter, and the kept set); both resume when rerun."""

from pathlib import Path

from dfkd_core.runtime.devices import resolve_device


def open_store(name: str):
    from dfkd_core.store.sample_sets import open_sample_set
    return open_sample_set(name)


def _bar(unit: str):
    from tqdm import tqdm
    bar = tqdm(unit=unit, dynamic_ncols=True)

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)
    return bar, progress


def cmd_augment(args) -> None:
    from dfkd_core.diffusion.loading import resolve_backbone
    from dfkd_core.methods.dda.config import DDAConfig
    from dfkd_core.methods.dda.variations import augment_store, source_rows
    from dfkd_core.teacher.spec import resolve_teacher

    cfg = DDAConfig(variations=args.variations, strength=args.strength, steps=args.steps, guidance=args.guidance,
                    mode=args.mode, eta=args.eta, seed=args.seed, batch_size=args.batch_size)
    cfg.validate()
    store = open_store(args.store)
    if args.out:  # the sources are copied, so the new store is complete on its own
        store = store.copy_to(source_rows(store, args.ids)["id"], args.out)
    device = resolve_device(args.device)
    teacher = resolve_teacher(args.teacher).to(device)
    backbone = resolve_backbone(args.backbone, device)
    bar, progress = _bar("img")
    made = augment_store(store, backbone, teacher, cfg, source_ids=args.ids, overwrite=args.overwrite,
                         backbone_name=args.backbone, progress=progress)
    bar.close()
    print(f"{made} new variations; {len(store.manifest())} samples in {store.root} (manifest: {store.manifest_path})")


def cmd_filter(args) -> None:
    from dfkd_core.filter.scores import class_counts, export_kept, score_store, write_scores
    from dfkd_core.teacher.spec import resolve_teacher

    store = open_store(args.store)
    teacher = resolve_teacher(args.teacher).to(resolve_device(args.device))
    bar, progress = _bar("img")
    scores = score_store(store, teacher, args.omega, args.tau, embedding=args.embedding, clip_model=args.clip_model,
                         batch_size=args.batch_size, progress=progress)
    bar.close()
    out = Path(args.scores or store.root / "scores.csv")
    write_scores(scores, out)
    print(class_counts(scores).to_string(index=False))
    kept = int(scores["kept"].sum())
    print(f"kept {kept} of {len(scores)} (ω={args.omega}, τ={args.tau}, {args.embedding} embedding); scores: {out}")
    if args.export:
        dest = export_kept(store, scores, args.export)
        print(f"kept set: {dest.root} ({len(dest.manifest())} samples)")


def add_commands(sub) -> None:
    aug = sub.add_parser("augment", help="DDA: SDEdit variations of a sample store's samples, into its manifest")
    aug.add_argument("store", help="sample store folder (or sample-set name)")
    aug.add_argument("--out", help="write sources + variations to this new store instead of the given one")
    aug.add_argument("--variations", type=int, default=2, help="variations per source")
    aug.add_argument("--strength", type=float, default=0.5, help="SDEdit strength s in (0, 1]")
    aug.add_argument("--steps", type=int, default=25, help="DDIM steps of a whole (s = 1) trajectory")
    aug.add_argument("--guidance", type=float, default=0.0, help="teacher-guidance strength while denoising")
    aug.add_argument("--mode", choices=["full", "x0"], default="x0")
    aug.add_argument("--eta", type=float, default=0.0)
    aug.add_argument("--seed", type=int, default=0)
    aug.add_argument("--batch-size", type=int, default=16)
    aug.add_argument("--ids", nargs="+", help="only these source ids (default: every source)")
    aug.add_argument("--overwrite", action="store_true", help="remake variations stored with other settings")
    aug.add_argument("--teacher", default="demo")
    aug.add_argument("--backbone", default="demo", help="'demo', a diffusers folder (incl. image-variation), or a hub id")
    aug.add_argument("--device", default="auto")
    aug.set_defaults(func=cmd_augment)

    flt = sub.add_parser("filter", help="scores of a store's samples and the DDA filter (cosine ω, confidence τ)")
    flt.add_argument("store", help="sample store folder (or sample-set name)")
    flt.add_argument("--omega", type=float, default=0.9, help="keep when cos(variation, source) >= ω")
    flt.add_argument("--tau", type=float, default=0.0, help="keep when the teacher's target probability >= τ")
    flt.add_argument("--embedding", choices=["teacher", "clip"], default="teacher")
    flt.add_argument("--clip-model", help="CLIPVisionModelWithProjection folder (for --embedding clip)")
    flt.add_argument("--teacher", default="demo")
    flt.add_argument("--scores", help="scores CSV (default STORE/scores.csv)")
    flt.add_argument("--export", metavar="DIR", help="write the kept samples to this new store")
    flt.add_argument("--batch-size", type=int, default=256)
    flt.add_argument("--device", default="auto")
    flt.set_defaults(func=cmd_filter)
