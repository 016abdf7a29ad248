"""`dfkd judge STORE`: the judge panel's figures for a sample store, a per-class grid PNG,
and judges.json (every figure, for scripts)."""

import json
from pathlib import Path


def cmd_judge(args) -> None:
    import torch

    from dfkd_core.io import write_text
    from dfkd_core.judges import JudgePanel, ReferenceSettings, format_report, save_grid, store_samples
    from dfkd_core.runtime.devices import resolve_device
    from dfkd_core.store.sample_sets import open_sample_set
    from dfkd_core.teacher.spec import resolve_teacher

    store = open_sample_set(args.store)
    images, targets, _ = store_samples(store)  # read first: a bad store fails before any fitting
    device = resolve_device(args.device)
    teacher = resolve_teacher(args.teacher)
    reference_cnn = None if args.reference == "none" else (
        "demo" if args.reference == "demo" else resolve_teacher(args.reference))
    settings = ReferenceSettings(dataset=args.dataset, fit_split=args.fit_split, fit_images=args.fit_images,
                                 test_images=args.test_images, k=args.k, components=args.components,
                                 data_dir=args.data_dir)
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
    p.add_argument("--out", help="folder for grid.png and judges.json (default STORE-judges beside the store)")
    p.add_argument("--data-dir", help="folder holding the real dataset (default: $DFKD_DATA, system locations)")
    p.add_argument("--dataset", default="fashion-mnist", help="real dataset the pixel judges are fit on")
    p.add_argument("--fit-split", default="pool", help="split they are fit on (default: pool, unseen by the teacher)")
    p.add_argument("--fit-images", type=int, default=10_000, help="real images they are fit on (a fixed subset)")
    p.add_argument("--test-images", type=int, default=10_000, help="real test images they are measured on")
    p.add_argument("--k", type=int, default=5, help="neighbours of the pixel kNN")
    p.add_argument("--components", type=int, default=64, help="pixel-PCA components")
    p.add_argument("--cache-dir", help="where fitted judges are kept (default RUNS/cache/judges)")
    p.add_argument("--teacher", default="demo", help="'demo' or a teacher source (see teacher inspect)")
    p.add_argument("--reference", default="demo",
                   help="independent network judge: 'demo' (the kit's WRN-16-1), a classifier source, or 'none'")
    p.add_argument("--columns", type=int, default=10, help="samples per class in the grid")
    p.add_argument("--scale", type=int, default=3, help="grid cells are the images scaled up this many times")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_judge)

