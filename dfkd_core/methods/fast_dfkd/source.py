"""Fast-DFKD as a Source: each batch of keys is one synthesis episode. Sample i has seed
`seed + i` (its starting latent) and class i mod K, so every episode's targets are balanced.

After an episode's images are stored, they join the memory, the online student (for the
adversarial loss; none when adv is 0) takes kd_steps KD steps on batches drawn from the
memory, and the whole state is checkpointed in `folder`. A rerun restores the checkpoint,
rebuilds the memory from the store and, if the run was killed between storing an episode
and checkpointing it, makes that episode again (the same images) to catch up: the images it
then writes are those of an uninterrupted run.

CMI (dfkd_core.methods.cmi) is this Source with another synthesizer: the class attributes below say which."""

from dataclasses import asdict
from pathlib import Path

import torch

from dfkd_core.methods.base import Key, Source, flat_plan
from dfkd_core.methods.online_student import OnlineStudent
from dfkd_core.methods.writer import missing
from dfkd_core.store import LabelledBatch, SampleStore

from .config import GeneratorConfig
from .episode import MetaSynthesizer
from .memory import ImageMemory
from .state import CHECKPOINT, load_state, save_state


class FastDFKD(Source):
    method = "fast_dfkd"
    title = "Fast-DFKD"  # in messages
    synthesizer = MetaSynthesizer  # (teacher, cfg, seed) -> .episode(), .episodes, .state_dict()
    checkpoint_name = CHECKPOINT

    def __init__(self, teacher, cfg: GeneratorConfig, per_class: int = 100, seed: int = 0, folder=None):
        super().__init__(teacher)
        self.cfg, self.per_class, self.seed = cfg, per_class, seed
        self.synth = self.synthesizer(teacher, cfg, seed)
        self.student = OnlineStudent(teacher, cfg.student, cfg.student_lr, 1, seed) if cfg.adv > 0 else None
        self.memory, self.remembered = ImageMemory(cfg.memory), 0
        self.checkpoint = Path(folder) / self.checkpoint_name if folder is not None else None
        if self.checkpoint is not None and self.checkpoint.exists():
            self.remembered = load_state(self.checkpoint, self.synth, self.student, self.settings(), self.title)

    def plan(self) -> list[Key]:
        k = self.teacher.num_classes
        return flat_plan(self.per_class * k, self.seed, [i % k for i in range(self.per_class * k)])

    def make(self, keys, should_stop=None) -> LabelledBatch:
        episode = self.synth.episode(torch.tensor([k.target for k in keys]), [k.seed for k in keys], self.student,
                                     should_stop)
        images = episode.images if len(episode.images) else torch.zeros(
            len(keys), self.teacher.in_channels, self.teacher.input_size, self.teacher.input_size)
        return self.label(images, keys)  # a stopped episode's batch is not stored (write_source)

    def stored(self, batch: LabelledBatch):
        self.memory.add(batch.images)
        self.remembered += len(batch.images)
        if self.student is not None and self.synth.episodes > self.cfg.warmup:
            draws = torch.Generator().manual_seed(self.seed * 1_000_003 + self.synth.episodes)
            for _ in range(self.cfg.kd_steps):
                self.student.learn(self.memory.draw(self.cfg.batch_size, draws))
        if self.checkpoint is not None:
            save_state(self.checkpoint, self.synth, self.student, self.remembered, self.settings())

    def resume(self, store: SampleStore, keys: list[Key]):
        """Rebuild the memory from what `store` holds of `keys` (the checkpoint says how many
        of them it had taken) and catch up on episodes stored after the last checkpoint."""
        todo = set(missing(store, keys))
        held = [k for k in keys if k not in todo]
        taken = held[max(0, self.remembered - self.cfg.memory):self.remembered]
        if taken:
            self.memory.add(store.images([k.id for k in taken]))
        size = self.cfg.synthesis_batch_size
        for start in range(self.remembered, len(held), size):
            self.stored(self.make(held[start:start + size]))

    def settings(self) -> dict:
        """What the store and the checkpoint keep (per_class is left out: a larger one extends the plan)."""
        return {**asdict(self.cfg), "seed": self.seed, "class_names": self.teacher.class_names}
