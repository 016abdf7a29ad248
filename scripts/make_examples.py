"""Make the app's pre-made examples (assets/examples/): guided and unguided samples of the
same seeds from the demo kit, as small PNGs, with examples.json holding each example's
settings, the teacher's p per image and the judges' figures. The app only reads them, so
its first screen shows results with no compute. Each example's seeds are the first batch,
from the seed listed on, whose guided images every judge (teacher, reference CNN, pixel kNN,
pixel-PCA linear) calls the target; how many batches that took is recorded and shown, so the
pick is visible (BENCHMARKS.md has the rates over 500 held-out samples). Run once after the demo kit
or the defaults change:

    python scripts/make_examples.py [--out assets/examples]
"""

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core import DfkdError  # noqa: E402
from dfkd_core.diffusion import load_backbone_cached  # noqa: E402
from dfkd_core.judges.batch import judge_batch  # noqa: E402
from dfkd_core.methods.diffdfkd.preview import app_defaults, sample_seeds  # noqa: E402
from dfkd_core.methods.diffdfkd.sampler import guided_sample  # noqa: E402
from dfkd_core.paths import PRIOR
from dfkd_core.store import to_uint8  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402

# name -> (classes, strength, first seed tried): what a visitor sees first, and can load with one click
EXAMPLES = {
    "Four classes at the default strength": (["Trouser", "Bag", "Sneaker", "Dress"], None, 0),
    "Footwear, stronger guidance": (["Sandal", "Sneaker", "Ankle boot"], 0.08, 100),
    "Tops, gentle guidance": (["T-shirt/top", "Pullover", "Shirt", "Coat"], 0.02, 200),
}


def _save(images, folder: Path, stem: str) -> list[str]:
    names = []
    for i, a in enumerate(to_uint8(images)):
        name = f"{stem}-{i}.png"
        Image.fromarray(np.asarray(a).squeeze()).save(folder / name, optimize=True)
        names.append(name)
    return names


MAX_TRIES = 50


def _all_agree(judged: dict) -> bool:
    return all(j["agreement"] == 1.0 for j in judged["judges"])


def _first_recognised(teacher, backbone, targets, first_seed, cfg):
    """(seed, seeds, guided batch, its judges, tries): the first seed whose batch every judge calls the target."""
    for tries in range(1, MAX_TRIES + 1):
        seed = first_seed + (tries - 1) * len(targets)  # batches of distinct seeds
        seeds = sample_seeds(targets, seed)
        guided = guided_sample(backbone, teacher, targets, seeds, cfg)
        judged = judge_batch(teacher, guided)
        if _all_agree(judged) or tries == MAX_TRIES:
            return seed, seeds, guided, judged, tries


def make(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    teacher, backbone = demo_teacher(), load_backbone_cached(str(PRIOR))
    names, base, examples = teacher.class_names, app_defaults(), []
    for n, (title, (classes, strength, seed)) in enumerate(EXAMPLES.items()):
        cfg = base if strength is None else replace(base, strength=strength)
        targets = [names.index(c) for c in classes]
        try:
            seed, seeds, guided, judged_guided, tries = _first_recognised(teacher, backbone, targets, seed, cfg)
        except DfkdError as e:  # no Fashion-MNIST here for the judges
            raise DfkdError(f"{e} The examples' seeds are chosen by the judges, which need Fashion-MNIST.") from e
        unguided = guided_sample(backbone, teacher, targets, seeds, replace(cfg, strength=0.0))
        g_files, u_files = _save(guided.images, out, f"ex{n}-guided"), _save(unguided.images, out, f"ex{n}-unguided")
        judged = {"guided": judged_guided, "unguided": judge_batch(teacher, unguided)}
        examples.append({
            "title": title, "chosen": {"tries": tries, "all_judges_agree": _all_agree(judged_guided)},
            "settings": {"classes": classes, "per_class": 1, "strength": cfg.strength, "steps": cfg.steps,
                         "eta": cfg.eta, "mode": cfg.mode, "seed": seed},
            "samples": [{"class": names[t], "seed": s, "guided": g, "unguided": u, "p_guided": round(float(pg), 3),
                         "p_unguided": round(float(pu), 3)}
                        for t, s, g, u, pg, pu in zip(targets, seeds, g_files, u_files,
                                                      guided.target_prob.tolist(), unguided.target_prob.tolist())],
            "judges": judged})
    index = {"made_with": {"teacher": "demo WRN-16-2 (Fashion-MNIST)", "prior": "demo prior",
                           "script": "scripts/make_examples.py"}, "examples": examples}
    (out / "examples.json").write_text(json.dumps(index, indent=1))
    return index


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "assets" / "examples")
    args = parser.parse_args(argv)
    index = make(args.out)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{len(index['examples'])} examples, {size / 1024:.0f} KB in {args.out}")


if __name__ == "__main__":
    main()
