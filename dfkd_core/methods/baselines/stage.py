"""Pipeline stages `noise` (Gaussian noise images) and `real` (real images, e.g. a held-out
pool, or the teacher's own training set as the upper reference), both labelled by the
teacher; a real image's own label is not used, and its seed is its index in the dataset."""

from dfkd_core.data import load_dataset
from dfkd_core.data.image_dataset import pick_indices
from dfkd_core.errors import DfkdError
from dfkd_core.methods.writer import write_stage
from dfkd_core.stage import Stage

from .config import NoiseSettings, RealSettings
from .sources import Noise, RealImages


def run_noise(s: NoiseSettings, ctx):
    source = Noise(ctx.teacher, s.count, s.mean, s.std, s.seed)
    write_stage(ctx, source, source.plan())


def run_real(s: RealSettings, ctx):
    data = load_dataset(s.dataset, s.split, root=s.data_dir or ctx.data_dir, download=ctx.download)
    if s.count is not None and s.count > len(data):
        raise DfkdError(f"Stage 'real': count must be 1..{len(data)} (the size of {data.name}), got {s.count}.")
    source = RealImages(ctx.teacher, data, pick_indices(len(data), s.count, s.seed))
    store = write_stage(ctx, source, source.plan())
    ctx.real_store, ctx.real = store, store.load()  # `distill` may inflate them (real_repeat), as after hidfd


def check_real(s: RealSettings, plan, where: str):
    plan.dataset(s.dataset, s.split, s.data_dir, None, where)


NOISE = Stage("noise", NoiseSettings, run_noise, "Gaussian noise images (a baseline)", makes_images=True)
REAL = Stage("real", RealSettings, run_real, "real images labelled by the teacher (a reference)", check=check_real,
             makes_images=True, collects_real=True)
