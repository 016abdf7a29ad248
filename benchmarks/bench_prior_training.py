"""How long scripts/train_prior.py takes to rebuild the demo prior on this machine, without
running all of it: times `--steps` steps of each phase (the autoencoder, then the UNet on its
latents) in a temporary work folder with the recipe's models and batch sizes, and prints each
phase's steps/s and the whole recipe's projected minutes (LatentPriorConfig's step counts).

    python benchmarks/bench_prior_training.py [--steps 200] [--threads 2]
"""

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.data import load_fashion_mnist  # noqa: E402
from dfkd_core.diffusion.prior import LatentPriorConfig, train_latent_prior  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200, help="steps timed per phase (after 10 untimed ones)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    recipe = LatentPriorConfig()
    pool = load_fashion_mnist("pool", pad_to=32).images
    marks = {}

    def progress(phase, step, total, loss):
        if step == 10:
            marks[phase] = time.perf_counter()
        if step == total:
            marks[phase] = (total - 10) / (time.perf_counter() - marks[phase])

    with tempfile.TemporaryDirectory() as work:
        cfg = replace(recipe, ae_steps=args.steps + 10, steps=args.steps + 10, save_every=10 ** 9)
        train_latent_prior(pool, cfg, work, progress)
    ae, unet = marks["autoencoder"], marks["denoiser"]
    minutes = (recipe.ae_steps / ae + recipe.steps / unet) / 60
    print(f"{args.threads} threads, load average {os.getloadavg()[0]:.2f}: autoencoder {ae:.2f} steps/s, "
          f"UNet {unet:.2f} steps/s; the recipe ({recipe.ae_steps:,} + {recipe.steps:,} steps) takes about "
          f"{minutes:.0f} minutes here, plus encoding the pool and judging the result")


if __name__ == "__main__":
    main()
