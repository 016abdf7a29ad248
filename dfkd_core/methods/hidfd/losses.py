"""The HiDFD GAN's losses (see train.py for how a step uses them).

Discriminator: hinge loss on real vs generated, plus the ADC-GAN auxiliary classifier over
2K classes (real image of class y -> y, generated image of class y -> K + y). With feature
integration, D also reads the teacher's penultimate features of each image: that branch is
part of D and is trained by this loss (the released HiDFD code ran it under no_grad).

Generator: -D(G(z, y)) + ADC [CE(C(G), y) - CE(C(G), K + y)] + the teacher's class-weighted
cross-entropy on G(z, y) (+ optional BN-statistics loss). The teacher's logits and features
are computed with their gradient w.r.t. the images, so the generator learns from the
teacher-feature branch of D as well as from the teacher's classification."""

import torch.nn.functional as F

from dfkd_core.teacher.model import bn_statistics_loss


def discriminator_loss(d, real, real_y, real_feats, fake, fake_y, fake_feats, num_classes: int, adc: float):
    adv_r, cls_r = d(real, real_feats)
    adv_f, cls_f = d(fake, fake_feats)
    hinge = F.relu(1 - adv_r).mean() + F.relu(1 + adv_f).mean()
    classifier = F.cross_entropy(cls_r, real_y) + F.cross_entropy(cls_f, fake_y + num_classes)
    return hinge + adc * classifier, {"d_real": adv_r.mean().item(), "d_fake": adv_f.mean().item(),
                                      "adc_d": classifier.item()}


def generator_loss(d, teacher, fake, y, class_weights, adc: float, oh: float, bn: float,
                   feature_integration: bool):
    """Returns (loss, parts, teacher logits, teacher features); fake keeps its graph."""
    k = teacher.num_classes
    if bn > 0:
        with teacher.bn_statistics() as stats:
            t_logits, t_feats = teacher.logits_and_features(fake)
        bn_loss = bn_statistics_loss(stats)
    else:
        t_logits, t_feats = teacher.logits_and_features(fake)
        bn_loss = fake.new_zeros(())
    adv, cls = d(fake, t_feats if feature_integration else None)
    ce = F.cross_entropy(t_logits, y, reduction="none")
    adc_g = F.cross_entropy(cls, y) - F.cross_entropy(cls, y + k)
    loss = -adv.mean() + adc * adc_g + oh * (class_weights[y] * ce).mean() + bn * bn_loss
    parts = {"adc_g": adc_g.item(), "teacher_ce": ce.mean().item(),
             "teacher_acc": (t_logits.argmax(1) == y).float().mean().item(), "bn_loss": bn_loss.item()}
    return loss, parts, t_logits, t_feats


def mode_seeking_loss(images, z, eps: float = 1e-5):
    """MSGAN (Mao et al. 2019): pairs (i, half + i) share a class but not z; the loss is the
    inverse of how far apart their images are relative to their latents, so minimising it
    spreads a class's samples out (against per-class mode collapse)."""
    half = len(images) // 2
    image_gap = (images[:half] - images[half:2 * half]).abs().mean((1, 2, 3))
    z_gap = (z[:half] - z[half:2 * half]).abs().mean(1)
    return 1 / ((image_gap / z_gap).mean() + eps)
