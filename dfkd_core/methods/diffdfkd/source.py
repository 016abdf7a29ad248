"""Teacher-guided diffusion samples (DiffDFKD); unguided prior samples are the same source at
guidance strength 0."""

from dataclasses import asdict

from dfkd_core.methods.base import Key, Source, per_class_plan

from .config import GuidanceConfig
from .sampler import guided_sample


class Diffusion(Source):
    """Samples of `backbone` guided towards their target class by `teacher` (guided_sample);
    `student`: the online student of the adversarial loss (adv > 0), taught each stored batch."""
    method = "diffdfkd"

    def __init__(self, backbone, teacher, guidance: GuidanceConfig, classes=None, per_class: int = 1,
                 seed: int = 0, student=None, extra_settings: dict | None = None):
        super().__init__(teacher)
        self.backbone, self.guidance, self.student = backbone, guidance, student
        self.classes = list(range(teacher.num_classes)) if classes is None else [int(c) for c in classes]
        self.per_class, self.seed = per_class, seed
        self.extra_settings = extra_settings or {}

    def plan(self) -> list[Key]:
        return per_class_plan(self.classes, self.per_class, self.teacher.num_classes, self.seed)

    def make(self, keys, should_stop=None):
        return guided_sample(self.backbone, self.teacher, [k.target for k in keys], [k.seed for k in keys],
                             self.guidance, should_stop=should_stop, student=self.student)

    def settings(self) -> dict:
        return {**asdict(self.guidance), **self.extra_settings, "class_names": self.teacher.class_names}

    def stored(self, batch):
        if self.student:
            self.student.learn(batch.images)
