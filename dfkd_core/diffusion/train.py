"""Training an unconditional pixel-space prior (diffusers UNet2DModel, DDPM objective) on
an unlabelled pool, with an EMA copy, a checkpoint every `save_every` steps and resume."""

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

from ..data.image_dataset import ImageDataset
from ..errors import DfkdError
from ..io import torch_save


@dataclass
class PriorConfig:
    steps: int = 20_000
    batch_size: int = 64
    lr: float = 1e-3
    ema: float = 0.999
    channels: tuple = (32, 64, 64)
    layers_per_block: int = 1
    attention: bool = False
    seed: int = 0
    save_every: int = 500


def make_unet(channels_in: int, size: int, cfg: PriorConfig) -> UNet2DModel:
    n = len(cfg.channels)
    down = ["DownBlock2D"] * n
    up = ["UpBlock2D"] * n
    if cfg.attention:  # attention at the second-lowest resolution
        down[-2], up[1] = "AttnDownBlock2D", "AttnUpBlock2D"
    return UNet2DModel(sample_size=size, in_channels=channels_in, out_channels=channels_in,
                       layers_per_block=cfg.layers_per_block, block_out_channels=tuple(cfg.channels),
                       down_block_types=tuple(down), up_block_types=tuple(up), norm_num_groups=8)


def scheduler() -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon")


def train_prior(pool: ImageDataset, cfg: PriorConfig, work_dir, device="cpu", progress=None,
                should_stop=lambda: False) -> tuple[UNet2DModel, dict]:
    """Returns the EMA UNet and a summary; work_dir/checkpoint.pt makes the run resumable."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    unet = make_unet(pool.channels, pool.size, cfg).to(device)
    ema = copy.deepcopy(unet).requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=0.0)
    lr_at = lambda s: min(1.0, (s + 1) / 500) * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * s / cfg.steps)).item())
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    noise_sched = scheduler()
    alphas = noise_sched.alphas_cumprod.to(device)
    step, seconds, losses = 0, 0.0, []
    ckpt = work / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        # The length of the run (and so its LR schedule) may change on resume; nothing else may.
        if _without_length(state["config"]) != _without_length(_plain(cfg)):
            raise DfkdError(f"{ckpt} was made with other settings {state['config']}; use a new work folder.")
        unet.load_state_dict(state["unet"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        step, seconds, losses = state["step"], state["seconds"], state["losses"]
    t0 = time.time() - seconds
    while step < cfg.steps and not should_stop():
        idx = torch.randint(0, len(pool), (cfg.batch_size,), generator=gen)
        x = pool.images[idx].float().div(255).mul(2).sub(1)
        flip = torch.rand(cfg.batch_size, generator=gen) < 0.5
        x[flip] = x[flip].flip(-1)
        x = x.to(device)
        noise = torch.randn(x.shape, generator=gen).to(device)
        t = torch.randint(0, 1000, (cfg.batch_size,), generator=gen).to(device)
        a = alphas[t].view(-1, 1, 1, 1)
        loss = F.mse_loss(unet(a.sqrt() * x + (1 - a).sqrt() * noise, t).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            for pe, p in zip(ema.parameters(), unet.parameters()):
                pe.lerp_(p, 1 - cfg.ema)
        step += 1
        losses.append(round(loss.item(), 5))
        if progress:
            progress(step, cfg.steps, loss.item())
        if step % cfg.save_every == 0 or step == cfg.steps:
            torch_save(ckpt, {"unet": unet.state_dict(), "ema": ema.state_dict(), "optimizer": opt.state_dict(),
                              "scheduler": sched.state_dict(), "generator": gen.get_state(), "step": step,
                              "seconds": time.time() - t0, "losses": losses, "config": _plain(cfg)})
    summary = {"steps_done": step, "train_seconds": round(time.time() - t0, 1),
               "final_loss_avg100": round(sum(losses[-100:]) / max(1, len(losses[-100:])), 5)}
    return ema, summary


def save_prior(unet: UNet2DModel, out_dir):
    """diffusers pipeline layout (model_index.json, unet/, scheduler/), safetensors weights."""
    DDPMPipeline(unet=unet, scheduler=scheduler()).save_pretrained(str(out_dir), safe_serialization=True)


def _without_length(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in ("steps", "save_every")}


def _plain(cfg: PriorConfig) -> dict:
    d = asdict(cfg)
    d["channels"] = list(d["channels"])
    return d
