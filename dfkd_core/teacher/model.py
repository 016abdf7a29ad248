"""The Teacher: a frozen classifier with its preprocessing, class names, penultimate
features, and hooks that collect BatchNorm input statistics (for the BN loss of
DeepInversion/DiffDFKD).

All inputs are images in [0, 1], (B, C, H, W), any size and 1 or 3 channels."""

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from dfkd_core.runtime.frozen import frozen

from .preprocess import Preprocess


def find_head(model: nn.Module) -> nn.Linear:
    """The final linear layer (zoo models name it; otherwise the last nn.Linear)."""
    if hasattr(model, "head") and isinstance(model.head, nn.Linear):
        return model.head
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("model has no nn.Linear classification head")
    return linears[-1]


@dataclass
class BNStatistic:
    """Batch statistics of one BatchNorm layer's input, beside the layer's running statistics."""
    mean: torch.Tensor
    var: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor


class Teacher(nn.Module):
    def __init__(self, model: nn.Module, num_classes: int, in_channels: int, input_size: int,
                 mean, std, class_names=None, logits_fn=None, info: dict | None = None,
                 resize_size: int | None = None):
        super().__init__()
        self.model = frozen(model)
        self.preprocess = Preprocess(in_channels, input_size, mean, std, resize_size)
        self.num_classes = num_classes
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self._logits_fn = logits_fn or (lambda m, x: m(x))  # e.g. HF models return an output object
        self.info = dict(info or {})

    @property
    def device(self) -> torch.device:
        return self.preprocess.mean.device

    @property
    def in_channels(self) -> int:
        return self.preprocess.in_channels

    @property
    def input_size(self) -> int:
        return self.preprocess.input_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self._logits_fn(self.model, self.preprocess(images))

    logits = forward

    def probs(self, images: torch.Tensor) -> torch.Tensor:
        return self(images).softmax(-1)

    def logits_and_features(self, images: torch.Tensor):
        """(logits, penultimate features): the input of the classification head."""
        captured = {}

        def hook(_module, inputs, _output):  # must return None: a returned value replaces the output
            captured["f"] = inputs[0]

        handle = find_head(self.model).register_forward_hook(hook)
        try:
            logits = self(images)
        finally:
            handle.remove()
        return logits, captured["f"].flatten(1)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.logits_and_features(images)[1]

    def batchnorm_layers(self) -> list[nn.Module]:
        return [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    @contextmanager
    def bn_statistics(self):
        """Inside the block, every forward pass appends one BNStatistic per BN layer to the
        yielded list (cleared by the caller as needed). Statistics keep their gradient."""
        stats: list[BNStatistic] = []

        def hook(module, inputs, _output):
            x = inputs[0].float()  # statistics in float32, also under bf16 autocast
            dims = [0] + list(range(2, x.dim()))
            stats.append(BNStatistic(x.mean(dims), x.var(dims, unbiased=False),
                                     module.running_mean, module.running_var))

        handles = [m.register_forward_hook(hook) for m in self.batchnorm_layers()]
        try:
            yield stats
        finally:
            for h in handles:
                h.remove()

    def train(self, mode: bool = True):
        # A teacher is always frozen: BN uses running statistics, dropout is off.
        return super().train(False)


def bn_statistics_loss(stats: list[BNStatistic]) -> torch.Tensor:
    """DeepInversion's feature-statistics loss: sum over layers of ||mu - mu_run||_2 + ||var - var_run||_2."""
    if not stats:
        raise ValueError("no BatchNorm statistics collected: does the teacher have BatchNorm layers?")
    return sum(torch.linalg.vector_norm(s.mean - s.running_mean) + torch.linalg.vector_norm(s.var - s.running_var)
               for s in stats)
