"""`dfkd export STORE --format hf|webdataset --out DIR`: a sample store as a dataset that
leaves the project (store/export.py). Flags: ExportOptions."""

from .flags import add_dataclass_flags
from .options import ExportOptions
from .progress import single


def cmd_export(args) -> None:
    # heavy: keeps torch off the CLI's start-up
    from dfkd_core.store.export import export_store
    from dfkd_core.store.sample_sets import open_sample_set

    store = open_sample_set(args.store)
    bars, progress = single("export")
    try:
        summary = export_store(store.root, args.format, args.out, shard_size=args.shard_size, progress=progress)
    finally:
        bars.close()
    where = f"{len(summary['shards'])} shards" if args.format == "webdataset" else "an imagefolder"
    print(f"{summary['samples']} samples of {store.root} -> {args.out} ({where})")
    if args.format == "hf":
        print(f'load it with: datasets.load_dataset("imagefolder", data_dir="{args.out}")')


def add_commands(sub) -> None:
    p = sub.add_parser("export", help="write a sample store as a Hugging Face imagefolder or WebDataset shards")
    p.add_argument("store", help="sample store folder (or sample-set name)")
    p.add_argument("--out", required=True, help="a new (or empty) folder")
    add_dataclass_flags(p, ExportOptions, defaults=True, required=("format",))
    p.set_defaults(func=cmd_export)
