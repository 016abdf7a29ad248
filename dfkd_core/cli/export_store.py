"""`dfkd export STORE --format hf|webdataset --out DIR`: a sample store as a dataset that
leaves the project (store/export.py)."""


def cmd_export(args) -> None:
    from tqdm import tqdm

    from dfkd_core.store.export import export_store
    from dfkd_core.store.sample_sets import open_sample_set

    store = open_sample_set(args.store)
    bar = tqdm(unit="img", dynamic_ncols=True)

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    summary = export_store(store.root, args.format, args.out, shard_size=args.shard_size, progress=progress)
    bar.close()
    where = f"{len(summary['shards'])} shards" if args.format == "webdataset" else "an imagefolder"
    print(f"{summary['samples']} samples of {store.root} -> {args.out} ({where})")
    if args.format == "hf":
        print(f'load it with: datasets.load_dataset("imagefolder", data_dir="{args.out}")')


def add_commands(sub) -> None:
    p = sub.add_parser("export", help="write a sample store as a Hugging Face imagefolder or WebDataset shards")
    p.add_argument("store", help="sample store folder (or sample-set name)")
    p.add_argument("--format", choices=["hf", "webdataset"], required=True,
                   help="hf: images + metadata.jsonl (datasets.load_dataset('imagefolder', data_dir=OUT)); "
                        "webdataset: tar shards of png + cls + json (teacher probabilities)")
    p.add_argument("--out", required=True, help="a new (or empty) folder")
    p.add_argument("--shard-size", type=int, default=1000, help="samples per WebDataset shard (at most 100,000)")
    p.set_defaults(func=cmd_export)
