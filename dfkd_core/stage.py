"""What a pipeline stage declares, once, beside the method it runs: its name, its settings
dataclass (every setting and its default), its run and its cross-stage checks.
dfkd_core.pipeline collects the declarations (pipeline/stages.py), parses each stage's
settings once, checks the whole config before any work, then runs the stages in order."""

from collections.abc import Callable
from dataclasses import dataclass, field, fields

from .errors import DfkdError
from .settings import check_keys, check_types, from_mapping


def _no_check(settings, plan, where: str):
    """No rule beyond the settings' own declarations."""


def _as_given(mapping: dict, where: str) -> dict:
    return mapping


@dataclass(frozen=True)
class Stage:
    name: str
    settings: type  # its settings dataclass
    run: Callable  # run(settings, ctx): does the work in ctx.stage_dir (pipeline.run.RunContext)
    summary: str = ""
    check: Callable = _no_check  # check(settings, plan, where) before any work: files, datasets, order
    makes_images: bool = False  # a source: it leaves a current store (or shards) for the stages after it
    collects_real: bool = False  # it leaves a few real images for data inflation (distill's real_repeat)
    needs_images: bool = False  # it works on the images a stage before it made
    run_seed: bool = True  # a `seed` setting left out is the run config's seed
    fills: dict = field(default_factory=dict)  # settings the run sets when the stage runs (out, device): not in a config
    prepare: Callable = _as_given  # prepare(mapping, where) -> mapping: a stage's own reading of its config

    def parse(self, mapping, run_config: dict, where: str):
        """The stage's settings object from its config mapping, types and ranges checked, then
        the dataclass's own rules (its `validate(where)`, when it has one)."""
        names = {f.name for f in fields(self.settings)}
        check_keys({} if mapping is None else mapping, names - set(self.fills), where)
        mapping = dict(mapping or {})
        if self.run_seed and "seed" in names and "seed" not in mapping:
            mapping["seed"] = run_config.get("seed", 0)
        mapping = self.prepare(mapping, where)
        obj = from_mapping(self.settings, {**mapping, **self.fills}, where)
        check_types(obj, where)
        if hasattr(obj, "validate"):  # the rules between its settings
            try:
                obj.validate(where)
            except DfkdError as e:
                raise e if str(e).startswith(where) else DfkdError(f"{where}: {e}") from None
        return obj
