"""One CMI batch ("episode"): a generator initialised afresh (CMI's reset_model, drawn from
the batch's first seed) and one learnable latent per image take g_steps Adam steps on

    oh * CE(T(g), y) + bn * BN-statistics(T, g) + adv * adversarial(T, S, g) + cr * InfoNCE(l, g)

with g a shifted + flipped (global) view and l a random resized crop (local view) of the
images. The projection head of the contrastive loss learns along, and carries over from batch
to batch with the feature bank, into which the batch's best step adds its features. The batch
keeps the images of its lowest-loss step. Until a batch finishes, the carried state (head,
its optimiser, bank, batch count) is untouched: a stopped batch changes nothing."""

import copy

import torch
import torch.nn.functional as F

from dfkd_core.data.image_dataset import random_crop_flip
from dfkd_core.errors import DfkdError
from dfkd_core.methods.fast_dfkd.episode import Episode, latents
from dfkd_core.methods.fast_dfkd.generator import FastGenerator, reset_all
from dfkd_core.methods.fast_dfkd.losses import adversarial_loss
from dfkd_core.teacher.model import bn_statistics_loss

from .config import CMIConfig
from .contrast import FeatureBank, ProjectionHead, contrastive_loss, feature_size, instance_means
from .views import random_resized_crop_flip

MAX_BANK_BYTES = 2 ** 30  # the feature bank is kept in memory and in every checkpoint


class ContrastiveSynthesizer:
    def __init__(self, teacher, cfg: CMIConfig, seed: int = 0):
        self.teacher, self.cfg, self.seed = teacher, cfg, seed
        dim = feature_size(teacher)
        if not dim:
            raise DfkdError("cmi: the teacher has no BatchNorm layers; CMI's BN-statistics and contrastive losses "
                            "are built on them (use the diffusion sources for such a teacher).")
        if cfg.bank_size * 2 * dim * 4 > MAX_BANK_BYTES:
            raise DfkdError(f"cmi: a bank of {cfg.bank_size} images x {2 * dim} teacher features would take "
                            f"{cfg.bank_size * 8 * dim / 2 ** 30:.1f} GiB (at most {MAX_BANK_BYTES / 2 ** 30:.0f}); "
                            "lower bank_size.")
        with torch.random.fork_rng(devices=[]):  # its initialisation moves nobody else's random stream
            torch.manual_seed(seed)
            self.head = ProjectionHead(dim, cfg.head_dim).to(teacher.device)
        self.head_optimizer = torch.optim.Adam(self.head.parameters(), lr=cfg.lr_g)
        self.bank = FeatureBank(cfg.bank_size, dim)
        self.episodes = 0

    def adversarial_on(self, student) -> bool:
        return self.cfg.adv > 0 and student is not None and self.episodes + 1 > self.cfg.warmup

    def episode(self, targets: torch.Tensor, seeds, student=None, should_stop=None) -> Episode:
        cfg, teacher, device = self.cfg, self.teacher, self.teacher.device
        draws = torch.Generator().manual_seed(int(seeds[0]))
        generator = FastGenerator(cfg.nz, cfg.ngf, teacher.input_size, teacher.in_channels)
        reset_all(generator, draws)
        generator.to(device).train()
        head = copy.deepcopy(self.head)
        head_opt = _optimizer_on(head, self.head_optimizer, cfg.lr_g)
        z = latents(seeds, cfg.nz).to(device).requires_grad_(True)
        targets = targets.to(device)
        opt = torch.optim.Adam([*generator.parameters(), z], lr=cfg.lr_g, betas=(0.5, 0.999))
        adversarial = self.adversarial_on(student)
        out, best, best_features = Episode(torch.zeros(0)), None, None
        if adversarial:
            student.model.requires_grad_(False)  # the batch moves images, not the student
        try:
            for _ in range(cfg.g_steps):
                if should_stop and should_stop():
                    out.finished = False
                    break
                x = generator(z)
                global_view = random_crop_flip(x, cfg.jitter, True, draws) if cfg.jitter else x
                with teacher.bn_statistics() as stats, instance_means(teacher) as seen:
                    t_logits = teacher(global_view)
                glob = torch.cat(seen, 1)
                with instance_means(teacher) as seen:
                    teacher(random_resized_crop_flip(x, cfg.local_crop, draws))
                local = torch.cat(seen, 1)
                ce, bn = F.cross_entropy(t_logits, targets), bn_statistics_loss(stats)
                adv = adversarial_loss(t_logits, student(global_view)) if adversarial else ce.new_zeros(())
                cr = contrastive_loss(head, local, glob, *self.bank.draw(cfg.n_neg, draws), cfg.cr_T)
                loss = cfg.oh * ce + cfg.bn * bn + cfg.adv * adv + cfg.cr * cr
                for record, value in ((out.ce, ce), (out.bn, bn), (out.adv, adv), (out.cr, cr)):
                    record.append(value.item())
                if best is None or loss.item() < best:
                    best, out.images, best_features = loss.item(), x.detach().cpu(), (local.detach(), glob.detach())
                opt.zero_grad(set_to_none=True)
                head_opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                head_opt.step()
        finally:
            if adversarial:
                student.model.requires_grad_(True)
        if out.finished:
            self.head, self.head_optimizer = head, head_opt
            self.bank.add(*best_features)
            self.episodes += 1
        return out

    def state_dict(self) -> dict:
        return {"head": self.head.state_dict(), "head_optimizer": self.head_optimizer.state_dict(),
                "bank": self.bank.state_dict(), "episodes": self.episodes}

    def load_state_dict(self, state: dict):
        self.head.load_state_dict(state["head"])
        self.head_optimizer.load_state_dict(state["head_optimizer"])
        self.bank.load_state_dict(state["bank"])
        self.episodes = int(state["episodes"])


def _optimizer_on(head, carried, lr: float) -> torch.optim.Adam:
    """An Adam over `head`'s parameters holding `carried`'s state (the batch works on copies)."""
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    opt.load_state_dict(copy.deepcopy(carried.state_dict()))
    return opt
