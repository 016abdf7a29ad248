"""The teacher's loss that guidance descends, and the checks that a teacher and a backbone
can serve a guidance config (run before any model is loaded or image made)."""

import math
from contextlib import nullcontext

import torch
import torch.nn.functional as F

from dfkd_core.errors import DfkdError
from dfkd_core.teacher.model import bn_statistics_loss


def check_guidance_fits_teacher(cfg, teacher):
    """Settings the teacher cannot serve, refused before any model is loaded or image made."""
    if cfg.bn and not teacher.batchnorm_layers():
        raise DfkdError(f"The BN-statistics loss (bn = {cfg.bn}) needs a teacher with BatchNorm layers, and this "
                        f"teacher ({type(teacher.model).__name__}) has none. Set bn to 0.")


def check_backbone_fits_teacher(backbone, teacher):
    """A grey prior cannot make the colours an RGB teacher reads (colour images do go to a grey
    teacher, as luma)."""
    if backbone.image_channels == 1 and teacher.in_channels != 1:
        raise DfkdError(f"The backbone '{backbone.source}' makes 1-channel (grey) images but the teacher takes "
                        f"{teacher.in_channels}-channel (colour) images. Use a colour backbone for this teacher "
                        "(e.g. google/ddpm-cifar10-32 or a Stable Diffusion model).")


def teacher_loss(teacher, images, targets, cfg, student=None) -> torch.Tensor:
    """Summed over the batch, so each sample's gradient does not depend on the batch size."""
    loss = images.new_zeros(())
    with teacher.bn_statistics() if cfg.bn else nullcontext([]) as stats:  # the hooks cost time; only when used
        logits = teacher(images).float()  # (float32 losses under bf16 autocast, precision.py)
    if cfg.oh:
        ce = F.cross_entropy(logits, targets, reduction="none")
        if cfg.confidence < 1:  # samples the teacher already finds likely enough are left as the prior draws them
            ce = ce * (ce.detach() > -math.log(cfg.confidence))
        loss = loss + cfg.oh * ce.sum()
    if cfg.bn:
        loss = loss + cfg.bn * bn_statistics_loss(stats)
    if cfg.adv:
        s_logits = student(images).float()
        agree = (logits.argmax(1) == s_logits.argmax(1)).float()
        kl = F.kl_div(F.log_softmax(s_logits, 1), F.softmax(logits, 1), reduction="none").sum(1)
        loss = loss - cfg.adv * (agree * kl).sum()
    return loss
