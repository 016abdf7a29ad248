"""One Fast-DFKD synthesis episode and the meta-update of the shared initialisation.

An episode copies the shared generator, draws one latent per image from the image's seed
(learnable, at lr_z), and takes g_steps Adam steps on
    oh * CE(T(x), y) + bn * BN-statistics(T, x) + adv * adversarial(T, S, x)
with x a random shift + flip of the generator's images. It returns, per image batch, the
images of the step with the lowest loss (as Fast-Datafree keeps `best_inputs`). Then the
shared initialisation takes one Adam step (lr lr_g * g_steps) along
  - first-order MAML (is_maml): the sum of the episode's generator gradients, or
  - Reptile: shared - adapted (the episode's whole move, as a gradient),
so the next episode starts where a few steps reach good images. Until an episode finishes
the carried state is untouched: a stopped episode changes nothing.
"""

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from dfkd_core.data.image_dataset import random_crop_flip

from .config import FastDFKDConfig
from .generator import FastGenerator, reset_bn, reset_l0
from .losses import BNMomentum, adversarial_loss

RESET_AFTER_WARMUP = 120  # Fast-Datafree re-initialises the first layer at episode warmup + 120


@dataclass
class Episode:
    images: torch.Tensor  # the best step's images, on the CPU, in [0, 1]
    ce: list = field(default_factory=list)  # per step: the three unweighted losses
    bn: list = field(default_factory=list)
    adv: list = field(default_factory=list)
    cr: list = field(default_factory=list)  # CMI's contrastive loss (dfkd_core.methods.cmi)
    finished: bool = True


def latents(seeds, nz: int) -> torch.Tensor:
    """Image k's starting latent, drawn from its own seed."""
    return torch.stack([torch.randn(nz, generator=torch.Generator().manual_seed(int(s))) for s in seeds])


class MetaSynthesizer:
    """The state one episode hands the next: the shared generator, its meta-optimiser, the
    BN momentum, and the number of episodes made."""

    def __init__(self, teacher, cfg: FastDFKDConfig, seed: int = 0):
        self.teacher, self.cfg, self.seed = teacher, cfg, seed
        with torch.random.fork_rng(devices=[]):  # its initialisation moves nobody else's random stream
            torch.manual_seed(seed)
            self.generator = FastGenerator(cfg.nz, cfg.ngf, teacher.input_size, teacher.in_channels)
        self.generator.to(teacher.device).train()
        self.meta_optimizer = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr_g * cfg.g_steps,
                                               betas=(0.5, 0.999))
        self.bn_momentum = BNMomentum(cfg.bn_mmt)
        self.episodes = 0

    def adversarial_on(self, student) -> bool:
        """The adversarial loss counts in the coming episode (after `warmup` episodes)."""
        return self.cfg.adv > 0 and student is not None and self.episodes + 1 > self.cfg.warmup

    def episode(self, targets: torch.Tensor, seeds, student=None, should_stop=None) -> Episode:
        cfg, device = self.cfg, self.teacher.device
        reset = self.episodes + 1 == cfg.warmup + RESET_AFTER_WARMUP and (cfg.reset_l0 or cfg.reset_bn)
        adversarial = self.adversarial_on(student)
        fast = copy.deepcopy(self.generator)
        if reset:
            self._reset(fast)
        z = latents(seeds, cfg.nz).to(device).requires_grad_(True)
        targets = targets.to(device)
        opt = torch.optim.Adam([{"params": fast.parameters()}, {"params": [z], "lr": cfg.lr_z}], lr=cfg.lr_g,
                               betas=(0.5, 0.999))
        jitter = torch.Generator().manual_seed(int(seeds[0]))
        meta_grads = [torch.zeros_like(p) for p in fast.parameters()]
        out = Episode(torch.zeros(0))
        if adversarial:
            student.model.requires_grad_(False)  # the episode moves images, not the student
        try:
            stats = self._steps(fast, z, targets, opt, jitter, student if adversarial else None, meta_grads, out,
                                should_stop)
        finally:
            if adversarial:
                student.model.requires_grad_(True)
        if out.finished:
            if reset:
                self._reset(self.generator)
            self._meta_update(fast, meta_grads)
            self.bn_momentum.update(stats)
            self.episodes += 1
        return out

    def _steps(self, fast, z, targets, opt, jitter, student, meta_grads, out: Episode, should_stop):
        """The g_steps generator steps; returns the last step's BN statistics."""
        cfg, teacher, best, stats = self.cfg, self.teacher, None, None
        for _ in range(cfg.g_steps):
            if should_stop and should_stop():
                out.finished = False
                break
            x = fast(z)
            seen = random_crop_flip(x, cfg.jitter, True, jitter) if cfg.jitter else x
            with teacher.bn_statistics() as stats:
                t_logits = teacher(seen)
            ce, bn = F.cross_entropy(t_logits, targets), self.bn_momentum.loss(stats)
            adv = adversarial_loss(t_logits, student(seen)) if student is not None else ce.new_zeros(())
            loss = cfg.oh * ce + cfg.bn * bn + cfg.adv * adv
            for record, value in ((out.ce, ce), (out.bn, bn), (out.adv, adv)):
                record.append(value.item())
            if best is None or loss.item() < best:
                best, out.images = loss.item(), x.detach().cpu()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for acc, p in zip(meta_grads, fast.parameters()):
                acc.add_(p.grad)
            opt.step()
        return stats

    def _meta_update(self, fast, meta_grads):
        self.meta_optimizer.zero_grad(set_to_none=True)
        for p, q, g in zip(self.generator.parameters(), fast.parameters(), meta_grads):
            p.grad = g if self.cfg.is_maml else (p.detach() - q.detach())
        self.meta_optimizer.step()

    def _reset(self, generator):
        """reset_l0 / reset_bn, drawn from the run's seed: the same on the episode's copy and the shared one."""
        gen = torch.Generator().manual_seed(self.seed + self.episodes)
        if self.cfg.reset_l0:
            reset_l0(generator, gen)
        if self.cfg.reset_bn:
            reset_bn(generator, gen)

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(), "meta_optimizer": self.meta_optimizer.state_dict(),
                "bn_momentum": self.bn_momentum.state_dict(), "episodes": self.episodes}

    def load_state_dict(self, state: dict):
        self.generator.load_state_dict(state["generator"])
        self.meta_optimizer.load_state_dict(state["meta_optimizer"])
        self.bn_momentum.load_state_dict(state["bn_momentum"], self.teacher.device)
        self.episodes = int(state["episodes"])
