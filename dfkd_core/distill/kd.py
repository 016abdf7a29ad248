"""Student training from a teacher: KD with temperature T against the teacher's soft
labels, computed online on every augmented batch; optional CE on the teacher's argmax;
optional SimKD classifier sharing; optional mixup of the batch's images. The loop
(checkpoints, resume, evaluation on a real test set every epoch, metrics.csv) is fit.py's."""


import torch
import torch.nn.functional as F

from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.distill.parallel import wrap
from dfkd_core.models.simkd import SimKDStudent
from dfkd_core.runtime.precision import autocast
from dfkd_core.teacher.model import Teacher, find_head

from .config import DistillConfig
from .fit import fit


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton's KD: KL(softmax(t/T) || softmax(s/T)) averaged over the batch, times T²."""
    t = temperature
    return F.kl_div(F.log_softmax(student_logits / t, 1), F.log_softmax(teacher_logits / t, 1),
                    log_target=True, reduction="batchmean") * t * t


def make_student(backbone, teacher: Teacher, simkd: bool):
    return SimKDStudent(backbone, find_head(teacher.model)) if simkd else backbone


def distill(student, teacher: Teacher, train_set: ImageDataset, test_set: ImageDataset | None,
            cfg: DistillConfig, out_dir, device="cpu", **hooks) -> list[dict]:
    """Train `student` (a zoo model, or a SimKDStudent when cfg.simkd) on train_set's images;
    their labels are not used. The student sees the teacher's preprocessing. hooks:
    on_epoch(row), should_stop() (raises Cancelled), progress(done_epochs, epochs). Returns the
    metrics rows; the student is left in eval mode. Under torchrun / accelerate the student
    trains in DDP (data_parallel.wrap); the teacher, in eval mode, labels each rank's share."""
    if cfg.simkd != isinstance(student, SimKDStudent):
        raise ValueError("cfg.simkd needs a SimKDStudent (make_student(..., simkd=True)), and only then")
    teacher.to(device)
    pre = teacher.preprocess
    net = wrap(student, device)  # the student itself in one process

    def step_loss(x, _labels):
        if cfg.mixup > 0:  # torch's global RNG: fit() checkpoints and restores it, so resume stays exact
            lam = torch.distributions.Beta(cfg.mixup, cfg.mixup).sample().item()
            x = lam * x + (1 - lam) * x[torch.randperm(len(x))]
        with autocast(device, cfg.precision):  # the networks only: the losses below are float32
            with torch.no_grad():
                t_logits, t_feats = teacher.logits_and_features(x)
            out = net(pre(x), return_features=True) if cfg.simkd else net(pre(x))
        t_logits, t_feats = t_logits.float(), t_feats.float()
        t_pred = t_logits.argmax(1)
        if cfg.simkd:
            logits, projected = out[0].float(), out[1].float()
            loss = F.mse_loss(projected, t_feats)
        else:
            logits = out.float()
            loss = cfg.kd_weight * kd_loss(logits, t_logits, cfg.temperature)
        if cfg.ce_weight:
            loss = loss + cfg.ce_weight * F.cross_entropy(logits, t_pred)
        return loss, logits, t_pred

    return fit(net, lambda im: student(pre(im)), train_set, test_set, cfg, step_loss, out_dir,
               device=device, **hooks)
