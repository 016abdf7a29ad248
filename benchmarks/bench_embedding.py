"""The Filter tab's embedding view on 2,000 samples, in one run.

    python benchmarks/bench_embedding.py [--n 2000] [--empty-numba-cache]

The sample set: Fashion-MNIST test images as sources (the first n/2) and as "variations"
(the next n/2, each paired with a source of its class), so cosines spread as they do for
real variations, with no diffusion run needed; features are the demo teacher's. Prints,
each part in a fresh process so that "cold" means cold:

- plain umap-learn (default settings, as a user would call it): import, first fit
  (numba compiles), second fit;
- this project (dfkd_core.filter.projection + the Filter tab's functions), with the persistent
  numba cache (and, with --empty-numba-cache, also as on the very first start): the
  background warm-up, then the first view of the set: teacher features -> scores -> 2-D
  projection -> figures and gallery. Three cases: the set as our writers store it (they
  cache the teacher's features as they write: `dfkd generate`, the pipeline stages, the
  Samples/Variations/HiDFD tabs), with the projection cached too, and a store made
  elsewhere (nothing cached: a teacher pass over every image);
- re-thresholding (new ω, τ: kept flags, figures, gallery), median of 5."""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_set(folder: Path, n: int, teacher):
    """Sources + paired "variations" from Fashion-MNIST test images, written as our writers
    write (filtering.store_batch); returns the store and the seconds spent caching features."""
    import torch

    from dfkd_core.data import load_dataset
    from dfkd_core.store import LabelledBatch, SampleStore
    from dfkd_core.store.features import store_batch

    data = load_dataset("fashion-mnist", "test")
    half = n // 2
    images, labels = data.images[:n].float().div(255), data.labels[:n]
    store, names = SampleStore(folder), data.class_names
    probs = torch.nn.functional.one_hot(labels, 10).float()

    def batch(part: slice) -> LabelledBatch:
        return LabelledBatch(images[part], labels[part], list(range(n))[part], probs[part], "unguided")

    t0 = time.perf_counter()
    store_batch(store, batch(slice(0, half)), teacher, {"class_names": names})
    with_features = time.perf_counter() - t0
    by_class = {c: [i for i in range(half) if labels[i] == c] for c in range(10)}
    rows, used, k_of = [], dict.fromkeys(range(10), 0), {}
    for j in range(half, n):
        c = int(labels[j])
        sid = f"c{c:03d}-s{by_class[c][used[c] % len(by_class[c])]}"
        used[c] += 1
        k_of[sid] = k_of.get(sid, 0) + 1
        rows.append({"id": f"{sid}-v{k_of[sid]}", "source_id": sid, "variation": k_of[sid], "strength": 0.5,
                     "method": "dda"})
    t0 = time.perf_counter()
    store_batch(store, batch(slice(half, n)), teacher, {"class_names": names}, rows)
    with_features += time.perf_counter() - t0
    t0 = time.perf_counter()  # the same write without the features, for their cost
    SampleStore(folder.parent / "plain").add(batch(slice(0, n)), names, {"class_names": names})
    return store, with_features - (time.perf_counter() - t0)


def part_plain(features_path: str) -> dict:
    import numpy as np
    t0 = time.perf_counter()
    import umap
    out = {"import_s": time.perf_counter() - t0}
    x = np.load(features_path)
    for key in ("first_fit_s", "second_fit_s"):
        t0 = time.perf_counter()
        umap.UMAP().fit_transform(x)
        out[key] = time.perf_counter() - t0
    return out


def part_ours(store_root: str) -> dict:
    import torch

    from components import filter_tab, filter_views
    from dfkd_core.filter import projection as embedding
    from dfkd_core.filter import scores as filtering
    from dfkd_core.store import SampleStore
    from dfkd_core.teacher.demo import demo_teacher

    teacher, store, out = demo_teacher(), SampleStore(store_root), {}
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    embedding.warm_up().join()
    out["warm_up_s"] = time.perf_counter() - t0

    def first_view():
        times = {}
        t = time.perf_counter()
        features = filtering.compute_features(store, teacher)
        times["features_s"] = time.perf_counter() - t
        t = time.perf_counter()
        scores = filtering.scores_frame(store.manifest(), features, 0.9, 0.0)
        proj = embedding.project(features.embeddings, "auto", cache_dir=store.root / "embeddings" / "2d")
        times["projection_s"], times["method"] = time.perf_counter() - t, proj.method
        t = time.perf_counter()
        state = {"root": str(store.root), "label": store.root.name, "scores": scores, "xy": proj.xy,
                 "method": proj.method, "note": ""}
        filter_views.plot(state, "kept / dropped"), filter_views.summary(state)
        times["figures_s"] = time.perf_counter() - t
        times["total_s"] = sum(v for k, v in times.items() if k.endswith("_s"))
        return times, state

    out["as_stored"], _ = first_view()
    out["all_cached"], state = first_view()
    rethreshold = []
    for omega, tau in ((0.5, 0.0), (0.8, 0.2), (0.9, 0.5), (0.95, 0.9), (0.7, 0.1)):
        t = time.perf_counter()
        filter_tab.rethreshold_ui(state, omega, tau, "kept / dropped")
        rethreshold.append(time.perf_counter() - t)
    out["rethreshold_s"] = statistics.median(rethreshold)
    t = time.perf_counter()
    filtering.apply_thresholds(state["scores"], 0.8, 0.2)
    out["flags_only_s"] = time.perf_counter() - t
    shutil.rmtree(store.root / "embeddings")
    out["cold"], _ = first_view()
    return out


def run_part(part: str, arg: str, env: dict) -> dict:
    cmd = [sys.executable, __file__, "--part", part, arg]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode:
        sys.exit(f"part {part} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--empty-numba-cache", action="store_true",
                   help="also measure the very first start (numba compiles everything; about a minute more)")
    p.add_argument("--part", choices=["plain", "ours"], help=argparse.SUPPRESS)
    p.add_argument("arg", nargs="?", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.part:
        print(json.dumps((part_plain if args.part == "plain" else part_ours)(args.arg)))
        return

    import numpy as np
    import torch

    from dfkd_core.filter import scores as filtering
    from dfkd_core.teacher.demo import demo_teacher

    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="bench-embedding-"))
    store, feature_s = build_set(work / "set", args.n, demo_teacher())
    features = filtering.compute_features(store, demo_teacher()).embeddings
    np.save(work / "features.npy", features)
    shutil.copytree(work / "set" / "embeddings", work / "as-stored")
    load = os.getloadavg()[0]
    print(f"{len(store.manifest())} samples, teacher features {features.shape[1]}-d; torch 1 thread, "
          f"{os.cpu_count()} CPUs, load average {load:.1f} (other work on this machine slows every figure)")
    print(f"caching the teacher's features while writing the set cost {feature_s:.1f} s in all")

    base = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    numba_dir = os.environ.get("NUMBA_CACHE_DIR") or str(Path.home() / ".cache" / "dfkd" / "numba")
    plain = run_part("plain", str(work / "features.npy"), {**base, "NUMBA_CACHE_DIR": str(work / "numba-plain")})
    print(f"\nplain umap-learn {version('umap-learn')}, defaults, fresh process")
    print(f"  import {plain['import_s']:.1f} s, first fit {plain['first_fit_s']:.1f} s, "
          f"second fit {plain['second_fit_s']:.1f} s")

    starts = [("first start (empty numba cache)", str(work / "numba-ours"))] if args.empty_numba_cache else []
    for label, numba in [*starts, ("start with the persistent numba cache", numba_dir)]:
        shutil.rmtree(work / "set" / "embeddings", ignore_errors=True)
        shutil.copytree(work / "as-stored", work / "set" / "embeddings")
        ours = run_part("ours", str(work / "set"), {**base, "NUMBA_CACHE_DIR": numba})
        print(f"\nDFKD Studio, {label}: background warm-up {ours['warm_up_s']:.1f} s, then the first view")
        print(f"  {'':<34}{'features':>9}{'projection':>11}{'figures':>9}{'total':>8}")
        for key, name in (("as_stored", "as our writers store it"), ("all_cached", "projection cached too"),
                          ("cold", "store made elsewhere")):
            r = ours[key]
            print(f"  {name:<34}{r['features_s']:>8.2f}s{r['projection_s']:>10.2f}s{r['figures_s']:>8.2f}s"
                  f"{r['total_s']:>7.2f}s  ({r['method']})")
        print(f"  re-threshold (flags + figures + gallery): {ours['rethreshold_s']:.3f} s; "
              f"flags alone {1000 * ours['flags_only_s']:.1f} ms")


if __name__ == "__main__":
    main()
