"""Train the demo kit's diffusion prior (assets/fmnist-demo/prior/).

Unlabelled pool, two domains, none of the teacher's training images:
  - Fashion-MNIST train images 50,000-59,999 (the held-out `pool` split);
  - 10,000 drawn shapes (dfkd_core.data.shapes), a domain the teacher never saw.
Images are 1x28x28 zero-padded to 32x32. Rerun the same command to resume.

    python scripts/train_prior.py [--steps 20000] [--device cuda] [--work-dir runs/prior]
"""

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.data import ImageDataset, load_fashion_mnist  # noqa: E402
from dfkd_core.data.shapes import draw_shapes  # noqa: E402
from dfkd_core.demo import PRIOR  # noqa: E402
from dfkd_core.diffusion.train import PriorConfig, save_prior, train_prior  # noqa: E402
from dfkd_core.io import write_json  # noqa: E402


def build_pool(seed: int = 0) -> ImageDataset:
    fm = load_fashion_mnist("pool", pad_to=None)
    shapes = torch.from_numpy(draw_shapes(10_000, seed=seed)).unsqueeze(1)
    images = torch.cat([fm.images, shapes])
    domain = torch.cat([torch.zeros(len(fm), dtype=torch.long), torch.ones(len(shapes), dtype=torch.long)])
    return ImageDataset(images, domain, ["fashion-mnist pool", "drawn shapes"], "prior-pool").pad_to(32)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--channels", type=int, nargs="+", default=[32, 64, 64])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--work-dir", default="runs/prior")
    p.add_argument("--out", default=str(PRIOR))
    args = p.parse_args()
    pool = build_pool()
    cfg = PriorConfig(steps=args.steps, batch_size=args.batch_size, channels=tuple(args.channels))
    bar = tqdm(total=cfg.steps, unit="step", dynamic_ncols=True)

    def progress(step, total, loss):
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}")

    t0 = time.time()
    unet, summary = train_prior(pool, cfg, args.work_dir, device=args.device, progress=progress)
    bar.close()
    if summary["steps_done"] < cfg.steps:
        print(f"stopped at step {summary['steps_done']}; rerun to resume")
        return
    save_prior(unet.cpu(), args.out)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)"
    write_json(Path(args.out) / "card.json", {
        "what": "unconditional DDPM prior (diffusers UNet2DModel), 1x32x32, pixel space",
        "pool": {"fashion-mnist train 50,000-59,999": 10_000, "drawn shapes (dfkd_core.data.shapes, seed 0)": 10_000},
        "contains_teacher_training_images": False,
        "parameters": sum(p.numel() for p in unet.parameters()),
        "config": {**vars(cfg), "channels": list(cfg.channels)},
        "wall_time_s": summary["train_seconds"], "device": device, "torch": torch.__version__,
        "final_loss_avg100": summary["final_loss_avg100"],
        "command": "python scripts/train_prior.py " + shlex.join(sys.argv[1:]),
        "this_session_s": round(time.time() - t0, 1)})
    print(f"prior saved to {args.out}")


if __name__ == "__main__":
    main()
