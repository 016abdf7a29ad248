"""Common interface of every classifier in the zoo.

Subclasses build their layers with the exact attribute names of the Fast-Datafree/CMI
classifiers (so their checkpoints load with strict=True) and implement `feature_map`
(the last convolutional feature map, after its activation) and `pool`; the head is the
final nn.Linear, whose name differs between families and is given by `head_name`.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ZooClassifier(nn.Module):
    head_name = "fc"

    @property
    def head(self) -> nn.Linear:
        return getattr(self, self.head_name)

    def pool(self, fmap: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(fmap, 1).flatten(1)

    def forward(self, x, return_features: bool = False, return_feature_map: bool = False):
        """Logits; with return_features also the penultimate (pooled) features, and with
        return_feature_map also the last conv feature map: (logits, features[, fmap])."""
        fmap = self.feature_map(x)
        feats = self.pool(fmap)
        logits = self.head(feats)
        if not (return_features or return_feature_map):
            return logits
        out = (logits, feats)
        return out + (fmap,) if return_feature_map else out
