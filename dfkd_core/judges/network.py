"""Network judges: a classifier's verdict on samples (the teacher's, or an independent CNN's).

They see everything a network can, including what a person cannot: the adversarial
textures a teacher's gradient paints are read as the class by the teacher and, largely, by
other networks trained on the same data. A high figure here says the teacher's guidance
reached its target, not that the image shows the class."""

from dataclasses import dataclass

import torch

from dfkd_core.errors import DfkdError


@dataclass
class NetworkJudge:
    name: str  # e.g. "teacher", "reference CNN"
    model: torch.nn.Module  # a Teacher: images in [0, 1] -> logits
    batch_size: int = 256

    @property
    def card_accuracy(self) -> float | None:
        """Its accuracy on real test images as its card states it (None if the card does not say)."""
        acc = getattr(self.model, "info", {}).get("test_accuracy")
        return float(acc) if isinstance(acc, (int, float)) else None

    @torch.no_grad()
    def probs(self, images: torch.Tensor) -> torch.Tensor:
        device = next(self.model.parameters()).device
        out = [self.model(images[i:i + self.batch_size].float().to(device)).float().softmax(-1).cpu()
               for i in range(0, len(images), self.batch_size)]
        return torch.cat(out)

    def judge(self, images: torch.Tensor, targets: torch.Tensor) -> dict:
        probs = self.probs(images)
        if probs.shape[1] <= int(targets.max()):
            raise DfkdError(f"{self.name} has {probs.shape[1]} classes but the samples target class "
                            f"{int(targets.max())}.")
        hit = probs.argmax(1) == targets
        return {"agreement": float(hit.float().mean()),
                "mean_p_target": float(probs.gather(1, targets.view(-1, 1)).mean()),
                "per_class": per_class_rate(hit, targets, probs.shape[1]), **softness(probs)}


UNSURE = 0.9  # a top probability below this counts the image as one the network is unsure of


def softness(probs: torch.Tensor) -> dict:
    """How sure the network is, whatever the class: its mean entropy (nats) and the share of
    images whose top probability is below UNSURE. A student learns these soft labels, so a set
    far surer than real images teaches little about the borders between classes."""
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1)
    return {"mean_entropy": float(entropy.mean()), "unsure": float((probs.max(1).values < UNSURE).float().mean())}


def per_class_rate(hit: torch.Tensor, targets: torch.Tensor, num_classes: int) -> list:
    """Share of hits among the samples of each target class (None where a class has none)."""
    out = []
    for c in range(num_classes):
        mine = hit[targets == c]
        out.append(round(float(mine.float().mean()), 4) if len(mine) else None)
    return out
