"""Samples of HiDFD's trained class-conditional generator (its EMA copy), balanced over the classes."""

from dfkd_core.methods.base import Key, Source, balanced_plan

from .sample import generate


class GanSamples(Source):
    """Sample (class c, seed s) is the generator's image of latent(s) for class c."""
    method = "hidfd"

    def __init__(self, generator, teacher, count: int, seed: int = 0, settings: dict | None = None):
        super().__init__(teacher)
        self.generator, self.count, self.seed = generator, count, seed
        self._settings = settings or {}

    def plan(self) -> list[Key]:
        return balanced_plan(self.teacher.num_classes, self.count, self.seed)

    def make(self, keys, should_stop=None):
        return generate(self.generator, self.teacher, [k.target for k in keys], [k.seed for k in keys])

    def settings(self) -> dict:
        return {**self._settings, "class_names": self.teacher.class_names}
