"""Train the demo kit's latent diffusion prior (assets/fmnist-demo/prior/).

Data: Fashion-MNIST train images 50,000-59,999 (the `pool` split, which the teacher never
saw), 1x28x28 zero-padded to 32x32, no labels. Two phases, both resumable: an autoencoder
(1x32x32 <-> 4x8x8), then a UNet on its scaled latents. The result is a diffusers
LDMPipeline folder; the card beside it records the data, steps, time and the judges'
figures on unguided samples. Rerun the same command to resume after a stop or a kill.

    python scripts/train_prior.py [--steps 10000] [--threads 2] [--work-dir runs/prior-latent]
"""

import argparse
import signal
import sys
from pathlib import Path

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.data import load_fashion_mnist  # noqa: E402
from dfkd_core.diffusion.prior import LatentPriorConfig, save_latent_prior, train_latent_prior  # noqa: E402
from dfkd_core.paths import PRIOR  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=LatentPriorConfig.steps, help="denoiser steps")
    p.add_argument("--ae-steps", type=int, default=LatentPriorConfig.ae_steps, help="autoencoder steps")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--work-dir", default="runs/prior-latent")
    p.add_argument("--out", default=str(PRIOR))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cfg = LatentPriorConfig(steps=args.steps, ae_steps=args.ae_steps)
    pool = load_fashion_mnist("pool", pad_to=32).images
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):  # finish the step, save, and leave
        signal.signal(sig, lambda *_: stop.append(True))
    bars = {}

    def progress(phase, step, total, loss):
        if phase not in bars:
            bars[phase] = tqdm(total=total, initial=step - 1, desc=phase, unit="step", dynamic_ncols=True)
        bars[phase].update(1)
        bars[phase].set_postfix(loss=f"{loss:.4f}", refresh=False)

    ae, unet, summary = train_latent_prior(pool, cfg, args.work_dir, progress, lambda: bool(stop))
    for bar in bars.values():
        bar.close()
    if not summary["done"]:
        print(f"stopped ({summary}); rerun the same command to resume")
        return 1
    save_latent_prior(ae, unet, args.out)
    print(f"prior saved to {args.out}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
