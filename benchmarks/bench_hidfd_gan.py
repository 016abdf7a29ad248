"""Tuning figures for the HiDFD GAN on the demo kit: collect real images from the held-out
pool, train the teacher-guided GAN for a step count or a time limit, then measure the EMA
generator on class-balanced samples: the teacher's target rate (argmax == class), mean
target probability, and the teacher-feature Fréchet distance to the Fashion-MNIST test set
(beside the same distance for the collected real images), and the spread of teacher
features within each class (diversity; beside the real images' spread).

    OMP_NUM_THREADS=1 python benchmarks/bench_hidfd_gan.py --real 600 --minutes 10 [--set g_ch=16 ...]

Runs go to runs/bench-hidfd-gan/<tag>/ and resume when rerun with the same settings."""

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from dfkd_core.data import load_dataset
from dfkd_core.methods.base import balanced_plan
from dfkd_core.methods.hidfd.collect import collect
from dfkd_core.methods.hidfd.config import GANConfig
from dfkd_core.methods.hidfd.models import standing_stats
from dfkd_core.methods.hidfd.quality import class_spread, frechet_distance, teacher_features
from dfkd_core.methods.hidfd.sample import generate, verdict_summary
from dfkd_core.methods.hidfd.stage import write_unlabelled_grid
from dfkd_core.methods.hidfd.train import train_gan
from dfkd_core.paths import runs_dir
from dfkd_core.teacher.demo import demo_teacher


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--real", type=int, default=600, help="real images collected from the pool")
    p.add_argument("--minutes", type=float, default=10.0, help="stop training after this long (this session)")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="GAN settings (YAML values)")
    p.add_argument("--tag", help="run folder name (default: from the settings)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    cfg = GANConfig.from_dict({"steps": 100_000, **overrides})
    tag = args.tag or f"real{args.real}-" + "-".join(f"{k}{v}" for k, v in sorted(overrides.items()))
    out = runs_dir() / "bench-hidfd-gan" / tag
    teacher = demo_teacher()
    real = collect(teacher, "demo", count=args.real, seed=0).images
    t0 = time.time()
    deadline = t0 + 60 * args.minutes
    run = train_gan(real, teacher, cfg, out, should_stop=lambda: time.time() > deadline,
                    on_log=lambda r: print(json.dumps({k: r[k] for k in ("step", "loss_d", "loss_g", "teacher_ce",
                                                                          "teacher_acc", "seconds")}), flush=True))
    train_s = run.rows[-1]["seconds"] if run.rows else 0.0
    standing_stats(run.ema, generator_rng=torch.Generator().manual_seed(0))
    keys = balanced_plan(teacher.num_classes, args.samples)
    batch = generate(run.ema, teacher, [k.target for k in keys], [k.seed for k in keys])
    per = args.samples // teacher.num_classes
    picks = [c * per + j for c in range(teacher.num_classes) for j in range(min(per, 10))]
    write_unlabelled_grid(out / "grid.png", batch.images[picks], teacher.num_classes)
    test = load_dataset("fashion-mnist", "test")
    test_feats = teacher_features(teacher, test.images[:args.samples].float().div(255))
    fake_feats = teacher_features(teacher, batch.images)
    real_feats = teacher_features(teacher, real.images.float().div(255))
    fd, fd_real = frechet_distance(fake_feats, test_feats), frechet_distance(real_feats, test_feats)
    spread, spread_real = class_spread(fake_feats, batch.targets), class_spread(real_feats, real.labels)
    result = {"tag": tag, "real_images": args.real, "steps": run.step, "train_seconds": round(train_s, 1),
              "steps_per_s": round(run.step / max(train_s, 1e-9), 3), **verdict_summary(batch),
              "teacher_fd": round(fd, 2), "teacher_fd_real_images": round(fd_real, 2),
              "class_spread": round(spread, 2), "class_spread_real_images": round(spread_real, 2),
              "threads": torch.get_num_threads(), "settings": overrides}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
