"""Train the demo kit's latent diffusion prior (assets/fmnist-demo/prior/).

Data: Fashion-MNIST train images 50,000-59,999 (the `pool` split, which the teacher never
saw), 1x28x28 zero-padded to 32x32, no labels. Two phases, both resumable: an autoencoder
(1x32x32 <-> 4x8x8), then a UNet on its scaled latents. The result is a diffusers
LDMPipeline folder; the card beside it records the data, steps, time and the judges'
figures on unguided samples. Rerun the same command to resume after a stop or a kill.

    python scripts/train_prior.py [--steps 10000] [--threads 2] [--work-dir runs/prior-latent]
"""

import argparse
import shlex
import signal
import sys
from pathlib import Path

import diffusers
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.data import load_fashion_mnist  # noqa: E402
from dfkd_core.diffusion import load_backbone  # noqa: E402
from dfkd_core.diffusion.prior import LatentPriorConfig, save_latent_prior, train_latent_prior  # noqa: E402
from dfkd_core.io import write_json  # noqa: E402
from dfkd_core.judges import JudgePanel, save_grid  # noqa: E402
from dfkd_core.methods.diffdfkd.prior_judging import judge_prior  # noqa: E402
from dfkd_core.paths import PRIOR  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402


def write_card(out: Path, cfg: LatentPriorConfig, summary: dict, ae, unet, samples: int) -> dict:
    """card.json and grid.png beside the prior: the data, steps, time and the judges' figures
    on its unguided samples (labelled by the kit's teacher)."""
    teacher = demo_teacher()
    figures, images, labels = judge_prior(load_backbone(out, local_files_only=True), teacher,
                                          JudgePanel.for_demo(teacher=teacher), samples=samples)
    order = torch.cat([torch.nonzero(labels == c).flatten()[:8] for c in range(10)])
    save_grid(images[order], labels[order], teacher.class_names, out / "grid.png", overwrite=True)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    write_json(out / "card.json", {
        "what": "latent diffusion prior (diffusers LDMPipeline): AutoencoderKL 1x32x32 <-> 4x8x8, latents scaled to "
                "unit variance, and an unconditional UNet2DModel on them, DDIM-sampled",
        "pool": "Fashion-MNIST train images 50,000-59,999 (the `pool` split), 1x28x28 padded to 32x32, no labels",
        "contains_teacher_training_images": False,
        "parameters": {"autoencoder": sum(p.numel() for p in ae.parameters()),
                       "unet": sum(p.numel() for p in unet.parameters())},
        "megabytes_on_disk": round(size / 2 ** 20, 1), "config": cfg.plain(), "training": summary,
        "device": f"cpu ({torch.get_num_threads()} threads)", "torch": torch.__version__,
        "diffusers": diffusers.__version__, "unguided_samples_judged": figures,
        "command": "python scripts/train_prior.py " + shlex.join(sys.argv[1:])})
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=LatentPriorConfig.steps, help="denoiser steps")
    p.add_argument("--ae-steps", type=int, default=LatentPriorConfig.ae_steps, help="autoencoder steps")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--work-dir", default="runs/prior-latent")
    p.add_argument("--out", default=str(PRIOR))
    p.add_argument("--judge-samples", type=int, default=1000, help="unguided samples the card's figures judge")
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
    figures = write_card(Path(args.out), cfg, summary, ae, unet, args.judge_samples)
    print(f"prior saved to {args.out}: {summary}\njudges on {figures['samples']} unguided samples: {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
