"""DDA on the demo kit: what SDEdit variations keep of their source's class, and what the
cosine filter keeps, in one run.

    python benchmarks/bench_dda.py [--per-class 10] [--configs 0.5:0 0.3:0.04 0.5:0.04] [--omega 0.9 0.95]

Makes teacher-guided sources (the generate defaults), then for each `strength:guidance`
two variations per source (25-step trajectory). Prints per config: seconds, the teacher's
target-class rate on the variations, an independent classifier's agreement with the target
(the kit's WRN-16-1 real-data reference), cosine quantiles (teacher features), and for each
ω the share of variations kept and the independent agreement among them."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    from dfkd_core.diffusion import load_backbone
    from dfkd_core.filter import scores as filtering
    from dfkd_core.methods.dda.config import DDAConfig
    from dfkd_core.methods.dda.variations import augment_store
    from dfkd_core.methods.diffdfkd.config import GenerateConfig
    from dfkd_core.methods.diffdfkd.generate import run_generation
    from dfkd_core.paths import PRIOR
    from dfkd_core.teacher.demo import demo_student_reference, demo_teacher

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--configs", nargs="+", default=["0.5:0", "0.3:0.04", "0.5:0.04"], help="strength:guidance")
    p.add_argument("--omega", type=float, nargs="+", default=[0.9, 0.95])
    args = p.parse_args()
    teacher, reference = demo_teacher(), demo_student_reference()
    work = Path(tempfile.mkdtemp(prefix="bench-dda-"))
    t0 = time.perf_counter()
    sources = run_generation(GenerateConfig.from_dict({"out": str(work / "sources"), "per_class": args.per_class,
                                                       "batch_size": 50}), teacher=teacher)
    ids = sources.manifest()["id"].tolist()
    print(f"{len(ids)} guided sources in {time.perf_counter() - t0:.0f} s; torch {torch.get_num_threads()} threads")
    backbone = load_backbone(PRIOR)
    omegas = "".join(f"{f'kept/agree ω={w}':>20}" for w in args.omega)
    print(f"{'s:guidance':<12}{'seconds':>8}{'teacher':>9}{'indep.':>8}{'cos q10/q50/q90':>18}{omegas}")
    for spec in args.configs:
        strength, guidance = (float(v) for v in spec.split(":"))
        store = sources.copy_to(ids, work / spec)
        t0 = time.perf_counter()
        augment_store(store, backbone, teacher, DDAConfig(variations=2, strength=strength, guidance=guidance,
                                                          batch_size=50))
        seconds = time.perf_counter() - t0
        scores = filtering.score_store(store, teacher)
        var = scores[scores["variation"] > 0].copy()
        with torch.no_grad():
            pred = reference(store.images(var["id"].tolist())).argmax(1).numpy()
        var["agree"] = pred == var["target"].to_numpy()
        q = np.quantile(var["cosine"], [0.1, 0.5, 0.9])
        line = (f"{spec:<12}{seconds:>8.0f}{100 * (var['teacher_pred'] == var['target']).mean():>8.1f}%"
                f"{100 * var['agree'].mean():>7.1f}%{'/'.join(f'{v:.2f}' for v in q):>18}")
        for w in args.omega:
            kept = var[var["cosine"] >= w]
            agree = f"{100 * kept['agree'].mean():.1f}%" if len(kept) else "-"
            line += f"{f'{100 * len(kept) / len(var):.1f}% / {agree}':>20}"
        print(line)


if __name__ == "__main__":
    main()
