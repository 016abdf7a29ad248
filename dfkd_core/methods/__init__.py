"""Everything that makes training images, one folder per method, behind one interface
(base.py: a Source plans keys and seeds, make(keys) -> LabelledBatch; writer.py: the one
resumable writer, write_source). diffdfkd/: teacher-guided diffusion and Latent CutMix;
dda/: diffusion variations of a store; hidfd/: the teacher-guided GAN from a few real images;
deepinversion/, fast_dfkd/, cmi/, baselines/ (noise, real images): the baselines. Each
method's folder holds its settings (config.py) and its pipeline stage (stage.py).
Names are imported on first use, so a light submodule (a method's config) does not pull in
torch and the store."""

from importlib import import_module

_PUBLIC = {**dict.fromkeys(("Key", "Source", "balanced_plan", "flat_plan", "label_with_teacher", "per_class_plan"),
                           "base"),
           **dict.fromkeys(("REFUSE", "REPLACE", "SKIP", "Made", "missing", "write_source"), "writer")}
__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
