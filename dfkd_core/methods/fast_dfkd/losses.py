"""Fast-DFKD's three losses on the teacher's (and online student's) view of generated images.

- CE: cross-entropy of the teacher's logits to the episode's targets (weight `oh`).
- BN statistics (weight `bn`): DeepInversion's ||mu - mu_run|| + ||var - var_run|| per BN
  layer of the teacher, where, with momentum bn_mmt = m > 0, the batch's statistics are
  first mixed with a running average over the previous episodes' last batches:
  (1 - m) * batch + m * carried (Fast-Datafree's DeepInversionHook with mmt_rate): an
  episode's small batch only needs to move the long-run statistics towards the teacher's.
- adversarial (weight `adv`): -mean_i m_i KL(T(x_i) || S(x_i)), m_i = [argmax T == argmax S]:
  images the student has not learnt yet, without leaving the teacher's class."""

import torch
import torch.nn.functional as F

from dfkd_core.teacher.model import BNStatistic, bn_statistics_loss


def adversarial_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    agree = (teacher_logits.argmax(1) == student_logits.argmax(1)).float()
    kl = F.kl_div(F.log_softmax(student_logits, 1), F.softmax(teacher_logits, 1), reduction="none").sum(1)
    return -(kl * agree).mean()


class BNMomentum:
    """The per-layer running averages of the batch statistics, carried from episode to episode."""

    def __init__(self, rate: float):
        self.rate = rate
        self.mean: list[torch.Tensor] | None = None
        self.var: list[torch.Tensor] | None = None

    def loss(self, stats: list[BNStatistic]) -> torch.Tensor:
        if not self.rate or self.mean is None:
            return bn_statistics_loss(stats)
        r = self.rate
        return bn_statistics_loss([BNStatistic((1 - r) * s.mean + r * m, (1 - r) * s.var + r * v,
                                               s.running_mean, s.running_var)
                                   for s, m, v in zip(stats, self.mean, self.var, strict=True)])

    def update(self, stats: list[BNStatistic]):
        """After an episode, from the statistics of its last batch."""
        if not self.rate:
            return
        mean, var = [s.mean.detach() for s in stats], [s.var.detach() for s in stats]
        if self.mean is None:
            self.mean, self.var = mean, var
        else:
            r = self.rate
            self.mean = [r * a + (1 - r) * b for a, b in zip(self.mean, mean)]
            self.var = [r * a + (1 - r) * b for a, b in zip(self.var, var)]

    def state_dict(self) -> dict:
        if self.mean is None:
            return {}
        return {**{f"mean.{i}": t for i, t in enumerate(self.mean)}, **{f"var.{i}": t for i, t in enumerate(self.var)}}

    def load_state_dict(self, state: dict, device):
        n = len([k for k in state if k.startswith("mean.")])
        self.mean = [state[f"mean.{i}"].to(device) for i in range(n)] if n else None
        self.var = [state[f"var.{i}"].to(device) for i in range(n)] if n else None
