"""Training the HiDFD GAN: a class-conditional GAN on the few collected real images
(labelled by the teacher), guided by the frozen teacher.

Each step:
  generator  loss = hinge adversarial - mean D(G(z, y))
                  + adc * [CE(C(G), y) - CE(C(G), K + y)]          (ADC-GAN)
                  + oh  * mean_i w[y_i] * CE(T(G(z_i, y_i)), y_i)  (teacher guidance, CFS-weighted)
                  + bn  * BN-statistics loss of the teacher        (DeepInversion; a realism prior)
                  + ms  * mode-seeking loss                        (optional, MSGAN; diversity)
             The discriminator sees the teacher's penultimate features of the generated
             images (feature integration), computed *with* gradient, so the generator also
             learns from that branch.
  discriminator loss = hinge on real vs generated + adc * [CE(C(real), y) + CE(C(G), K + y)];
             its teacher-feature branch is a trained part of D (the released HiDFD code ran
             it under no_grad, so it never learned).
  category frequency smoothing: the teacher's predictions on this step's generated images
             update the class weights w (see smoothing.py), every step.
The discriminator reuses the step's generated images (detached) and their teacher outputs.
Real images are drawn from a bank of `real_bank` augmented copies of each, whose teacher
features are computed once (the teacher's forward pass is most of a step's cost on a CPU).
A checkpoint (checkpoint.safetensors) is written every `checkpoint_every` steps, every ~30 s
(runtime.checkpoint.SAVE_SECONDS) and at the step where a stop is asked, with the metric sums
of the log interval in progress, so a killed or cancelled run resumes where it was, exactly."""

import hashlib
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.errors import DfkdError
from dfkd_core.io import load_state, save_state, write_metrics_csv
from dfkd_core.runtime.checkpoint import SaveClock, refuse_pickled
from dfkd_core.teacher.model import find_head

from .augment import diff_augment
from .bank import RealBank
from .config import RESUMABLE_CHANGES, GANConfig
from .losses import discriminator_loss, generator_loss, mode_seeking_loss
from .models import Discriminator, DiscriminatorSpec, Generator, GeneratorSpec, ema_of, ema_update
from .smoothing import FrequencySmoother


@dataclass
class GANRun:
    generator: Generator
    ema: Generator  # the EMA generator: sample from this one (after standing_stats)
    discriminator: Discriminator
    rows: list  # one metrics row per log interval
    step: int
    finished: bool  # False when stopped early (the checkpoint resumes it)


def build_gan(cfg: GANConfig, teacher, channels: int, size: int):
    k = teacher.num_classes
    g = Generator(GeneratorSpec(k, channels, size, cfg.z_dim, cfg.g_ch))
    teacher_dim = find_head(teacher.model).in_features if cfg.feature_integration else 0
    d = Discriminator(DiscriminatorSpec(k, channels, cfg.d_ch, teacher_dim))
    return g, d


def data_fingerprint(real: ImageDataset) -> str:
    h = hashlib.sha256(real.images.numpy().tobytes())
    h.update(real.labels.numpy().tobytes())
    return h.hexdigest()[:16]


def train_gan(real: ImageDataset, teacher, cfg: GANConfig, out_dir, on_log=None, on_samples=None,
              should_stop=lambda: False, device="cpu") -> GANRun:
    """real: the collected images, labelled by the teacher. Writes out_dir/checkpoint.safetensors and
    out_dir/metrics.csv; resumes from the checkpoint. on_log(row) every log_every steps;
    on_samples(step, images) with a grid of the EMA generator (row c = class c)."""
    cfg.validate()
    if len(real) == 0:
        raise DfkdError("No real images to train the GAN on.")
    if real.channels != teacher.in_channels or real.size != teacher.input_size:
        raise DfkdError(f"Real images are {real.channels}x{real.size}x{real.size}; the teacher takes "
                        f"{teacher.in_channels}x{teacher.input_size}x{teacher.input_size} (see collect.to_teacher_format).")
    if cfg.bn > 0 and not teacher.batchnorm_layers():
        raise DfkdError("The GAN's BN-statistics loss needs a teacher with BatchNorm layers; this teacher has "
                        "none. Set bn: 0.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    k, bsz = teacher.num_classes, cfg.batch_size
    g, d = build_gan(cfg, teacher, real.channels, real.size)
    # channels_last runs these small convnets ~20% faster on a CPU (measured on the demo teacher)
    g.to(device, memory_format=torch.channels_last), d.to(device, memory_format=torch.channels_last)
    ema = ema_of(g, cfg.ema_decay)  # torch's AveragedModel; GANRun.ema is its generator
    opt_g = torch.optim.Adam(g.parameters(), cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(d.parameters(), cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    smoother = FrequencySmoother(k, cfg.cfs_beta, cfg.cfs_decay, bsz, torch.bincount(real.labels, minlength=k) + 1)
    fingerprint = data_fingerprint(real)
    rows, step, interval = [], 0, {"sums": {}, "seconds": 0.0}  # the log interval in progress
    ckpt_path = refuse_pickled(out / "checkpoint.safetensors")
    if ckpt_path.exists():
        ckpt = load_state(ckpt_path)
        _check_resumable(ckpt, cfg, fingerprint, ckpt_path)
        g.load_state_dict(ckpt["generator"])
        d.load_state_dict(ckpt["discriminator"])
        ema.load_state_dict(ckpt["ema"])
        opt_g.load_state_dict(ckpt["opt_g"])
        opt_d.load_state_dict(ckpt["opt_d"])
        smoother.load_state_dict(ckpt["smoother"])
        rng.set_state(ckpt["rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        rows, step, interval = ckpt["rows"], ckpt["step"], ckpt["interval"]

    def save(rows, step, interval):
        save_state(ckpt_path, {"generator": g.state_dict(), "discriminator": d.state_dict(), "ema": ema.state_dict(),
                               "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                               "smoother": smoother.state_dict(), "rng": rng.get_state(),
                               "torch_rng": torch.get_rng_state(), "rows": rows, "step": step,
                               "interval": interval, "config": asdict(cfg), "data": fingerprint})
        if rows:
            write_metrics_csv(out / "metrics.csv", rows)

    with channels_last(teacher.model):
        return _loop(g, d, ema, teacher, smoother, opt_g, opt_d, RealBank(real, teacher, cfg, device), cfg, rng, rows,
                     step, interval, save, on_log, on_samples, should_stop, device)


@contextmanager
def channels_last(model):
    """The teacher in channels_last memory format while the GAN trains, as it was afterwards."""
    params = list(model.parameters())
    was_contiguous = [p.is_contiguous() for p in params]
    model.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        if all(was_contiguous):
            model.to(memory_format=torch.contiguous_format)


def _loop(g, d, ema, teacher, smoother, opt_g, opt_d, bank, cfg, rng, rows, step, interval, save, on_log, on_samples,
          should_stop, device) -> GANRun:
    k = teacher.num_classes
    grid_z = torch.randn(k * 8, cfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 1)).to(device)
    grid_y = torch.arange(k, device=device).repeat_interleave(8)
    teacher.eval()
    sums, t0, last_saved, clock = interval["sums"], time.time() - interval["seconds"], step, SaveClock()
    while step < cfg.steps:
        if should_stop():
            save(rows, step, {"sums": sums, "seconds": time.time() - t0})
            return GANRun(g, ema.module, d, rows, step, False)
        stats = _step(g, d, teacher, smoother, opt_g, opt_d, bank, cfg, rng, device)
        step += 1
        ema_update(ema, g)
        for key, v in stats.items():
            sums[key] = sums.get(key, 0.0) + v
        if step % cfg.log_every == 0 or step == cfg.steps:
            n = step - (rows[-1]["step"] if rows else 0)
            w = smoother.weights()
            rows.append({"step": step, **{key: round(v / n, 5) for key, v in sums.items()},
                         "cfs_min": round(w.min().item(), 4), "cfs_max": round(w.max().item(), 4),
                         "cfs_weights": ";".join(f"{x:.4f}" for x in w.tolist()),
                         "seconds": round(time.time() - t0 + (rows[-1]["seconds"] if rows else 0.0), 2)})
            sums, t0 = {}, time.time()
            if on_log:
                on_log(rows[-1])
        if on_samples and cfg.samples_every and (step % cfg.samples_every == 0 or step == cfg.steps):
            on_samples(step, _preview(ema.module, grid_z, grid_y))
        if step - last_saved >= cfg.checkpoint_every or step == cfg.steps or clock.due():
            save(rows, step, {"sums": sums, "seconds": time.time() - t0})
            last_saved = step
            clock.saved()
    return GANRun(g, ema.module, d, rows, step, True)


def _check_resumable(ckpt, cfg, fingerprint, path):
    old = {key: v for key, v in ckpt["config"].items() if key not in RESUMABLE_CHANGES}
    new = {key: v for key, v in asdict(cfg).items() if key not in RESUMABLE_CHANGES}
    if old != new:
        changed = sorted(key for key in new if old.get(key) != new[key])
        raise DfkdError(f"{path} was trained with other GAN settings ({', '.join(changed)} differ); use a new "
                        "output folder, or the same settings to resume.")
    if ckpt["data"] != fingerprint:
        raise DfkdError(f"{path} was trained on other real images; use a new output folder to train on these.")


@torch.no_grad()
def _preview(ema, z, y):
    """EMA samples with the grid's own batch statistics (standing statistics come at the end)."""
    buffers = [b.clone() for b in ema.buffers()]
    ema.train()
    images = ema(z, y).cpu()
    for b, saved in zip(ema.buffers(), buffers):
        b.copy_(saved)
    return images


def _step(g, d, teacher, smoother, opt_g, opt_d, bank, cfg, rng, device) -> dict:
    k, bsz = teacher.num_classes, cfg.batch_size
    y = torch.randint(0, k, (bsz,), generator=rng).to(device)
    z = torch.randn(bsz, cfg.z_dim, generator=rng).to(device)
    weights = smoother.weights().to(device) if cfg.cfs else torch.ones(k, device=device)
    use_feats = cfg.feature_integration

    if cfg.ms > 0:  # mode seeking pairs sample i with sample half + i: same class, other z
        half = bsz // 2
        y[half:2 * half] = y[:half]

    # Generator step.
    g.train()
    d.requires_grad_(False)
    images = g(z, y)
    fake = diff_augment(images, cfg.augment, rng)
    loss_g, parts, t_logits, t_feats = generator_loss(d, teacher, fake, y, weights, cfg.adc, cfg.oh, cfg.bn,
                                                      use_feats)
    if cfg.ms > 0:
        ms = mode_seeking_loss(images, z)
        loss_g = loss_g + cfg.ms * ms
        parts["ms_loss"] = ms.item()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    d.requires_grad_(True)
    if cfg.cfs:
        smoother.update(t_logits.detach().argmax(1))

    # Discriminator steps: the first reuses this step's generated images and teacher features.
    fake_d, feats_d, y_d = fake.detach(), t_feats.detach() if use_feats else None, y
    for i in range(cfg.d_steps):
        if i:
            y_d = torch.randint(0, k, (bsz,), generator=rng).to(device)
            with torch.no_grad():
                fake_d = diff_augment(g(torch.randn(bsz, cfg.z_dim, generator=rng).to(device), y_d), cfg.augment, rng)
                feats_d = teacher.features(fake_d) if use_feats else None
        real, real_y, feats_r = bank.draw(bsz, rng)
        loss_d, d_parts = discriminator_loss(d, real, real_y, feats_r, fake_d, y_d, feats_d, k, cfg.adc)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), **d_parts, **parts}
