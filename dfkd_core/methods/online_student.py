"""The online student of the adversarial guidance loss (Fast-Datafree, CMI, DiffDFKD): a
small classifier trained by KD on each finished batch, alongside generation, so that
guidance can seek samples the student has not learnt yet:

    L_adv = - sum_i m_i KL(T(x_i) || S(x_i)),   m_i = [argmax T(x_i) == argmax S(x_i)]

(guidance.teacher_loss; the mask, as CMI's `loss_adv`, keeps guidance from pushing a sample
out of the teacher's class just to make the two disagree). The student sees images through
the teacher's preprocessing, in eval mode during guidance and train mode while it learns.

Its weights, optimiser state and the number of batches it has learnt are saved in the
generation folder after each batch, so a rerun resumes with the student it had. (A run
killed between storing a batch and saving the student resumes with a student one batch
behind: the next images then differ from an uninterrupted run's.)"""

from pathlib import Path

import torch
import torch.nn.functional as F

from dfkd_core.errors import DfkdError
from dfkd_core.io import load_state, save_state
from dfkd_core.models.zoo import build_model
from dfkd_core.runtime.checkpoint import refuse_pickled

CHECKPOINT = "online_student.safetensors"


class OnlineStudent:
    def __init__(self, teacher, arch: str = "wrn_16_1", lr: float = 1e-3, steps: int = 2, seed: int = 0,
                 checkpoint=None):
        self.teacher, self.steps = teacher, steps
        with torch.random.fork_rng(devices=[]):  # its initialisation must not move anyone else's random stream
            torch.manual_seed(seed)
            self.model = build_model(arch, teacher.num_classes, teacher.in_channels).to(teacher.device).eval()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.batches = 0
        self.checkpoint = refuse_pickled(checkpoint) if checkpoint else None
        if self.checkpoint and self.checkpoint.exists():
            self._restore(load_state(self.checkpoint))

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self.teacher.preprocess(images.to(self.teacher.device)))

    def learn(self, images: torch.Tensor) -> float:
        """`steps` KD steps (KL(T || S), temperature 1) on one batch; returns the last loss."""
        images = images.to(self.teacher.device).float()
        with torch.no_grad():
            target = self.teacher(images).softmax(1)
        self.model.train()
        with torch.enable_grad():
            for _ in range(self.steps):
                loss = F.kl_div(F.log_softmax(self(images), 1), target, reduction="batchmean")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
        self.model.eval()
        self.batches += 1
        if self.checkpoint:
            save_state(self.checkpoint, {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                                         "batches": self.batches})
        return loss.item()

    def _restore(self, state: dict):
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.batches = int(state["batches"])
        except (KeyError, RuntimeError, ValueError) as e:
            raise DfkdError(f"{self.checkpoint} does not hold this run's online student ({str(e).splitlines()[0]}); "
                            "use a new output folder.")


def online_student_for(cfg, teacher, folder, seed: int = 0) -> OnlineStudent | None:
    """The online student a generation run with guidance config `cfg` needs (adv > 0), kept in `folder`."""
    if not (cfg.adv and cfg.strength):
        return None
    return OnlineStudent(teacher, cfg.adv_student, cfg.adv_lr, cfg.adv_steps, seed, Path(folder) / CHECKPOINT)
