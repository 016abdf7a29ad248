"""Pipeline stages for images made before: `samples` (a sample store, or the name of one of the
app's sample sets) and `shards` (WebDataset shards that distill streams batch by batch,
never holding them all; `dfkd export STORE --format webdataset --out DIR`)."""

from dataclasses import dataclass

from dfkd_core.data.shard_stream import DEFAULT_SHUFFLE, MAX_SHUFFLE, ShardStream
from dfkd_core.errors import DfkdError
from dfkd_core.settings import setting
from dfkd_core.stage import Stage
from dfkd_core.store.sample_sets import open_sample_set


@dataclass
class SamplesSettings:
    path: str = setting("", "a sample-store folder (metadata.csv) or the name of a sample set")


@dataclass
class ShardsSettings:
    path: str = setting("", "the folder of `dfkd export STORE --format webdataset`")
    shuffle: int = setting(DEFAULT_SHUFFLE, "shuffle buffer, in samples", low=0, high=MAX_SHUFFLE)


def run_samples(s: SamplesSettings, ctx):
    ctx.store = open_sample_set(s.path)
    ctx.results["images"] = len(ctx.store.manifest())


def check_samples(s: SamplesSettings, plan, where: str):
    open_sample_set(s.path)  # the store exists and reads


def run_shards(s: ShardsSettings, ctx):
    ctx.shards = ShardStream(s.path, s.shuffle)
    ctx.store = None
    ctx.results["images"] = len(ctx.shards)


def check_shards(s: ShardsSettings, plan, where: str):
    if plan.stage_names != ["shards", "distill"]:
        raise DfkdError(f"{where}: shards stream straight into distill: the stages must be [shards, distill] "
                        "(to augment, filter or mix in real images, use the store the shards came from).")
    if not s.path:
        raise DfkdError(f"{where}: needs `path:` (the folder of `dfkd export STORE --format webdataset`).")
    ShardStream(s.path, s.shuffle).rank_share(0)  # every shard's headers; under a launcher, a share per process


SAMPLES = Stage("samples", SamplesSettings, run_samples, "an existing sample set", check=check_samples,
                makes_images=True)
SHARDS = Stage("shards", ShardsSettings, run_shards, "WebDataset shards, streamed into distill", check=check_shards,
               makes_images=True)
