"""SimKD classifier sharing (Chen et al., 2022): a projector maps the student's
penultimate features to the teacher's, and the teacher's frozen classifier makes the
prediction. The student is trained to match the teacher's features (MSE) only."""

import copy

import torch
from torch import nn


class SimKDStudent(nn.Module):
    def __init__(self, backbone: nn.Module, teacher_head: nn.Linear):
        super().__init__()
        self.backbone = backbone
        s_dim, t_dim = backbone.head.in_features, teacher_head.in_features
        self.projector = nn.Sequential(nn.Linear(s_dim, t_dim), nn.BatchNorm1d(t_dim), nn.ReLU(inplace=True),
                                       nn.Linear(t_dim, t_dim))
        self.head = copy.deepcopy(teacher_head)
        for p in self.head.parameters():
            p.requires_grad_(False)
        # The backbone's own classifier is unused: keep it out of training.
        for p in backbone.head.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        _, feats = self.backbone(x, return_features=True)
        projected = self.projector(feats)
        logits = self.head(projected)
        return (logits, projected) if return_features else logits
