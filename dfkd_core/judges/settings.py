"""Which real images the texture-proof judges are fit on and measured on, declared once (the
CLI's `dfkd judge` flags read them here). Light: no torch."""

from dataclasses import asdict, dataclass, fields

from dfkd_core.errors import DfkdError
from dfkd_core.settings import declaration, setting

MAX_IMAGES = 60_000  # bound on the real images read into a judge (uint8, a few tens of MB)


@dataclass(frozen=True)
class ReferenceSettings:
    dataset: str = setting("fashion-mnist", "real dataset the pixel judges are fit on")
    fit_split: str = setting("pool", "split they are fit on (pool: unseen by the teacher)")
    fit_images: int = setting(10_000, "real images they are fit on (a fixed subset)", low=10, high=MAX_IMAGES)
    test_split: str = setting("test", "split they are measured on")
    test_images: int = setting(10_000, "real test images they are measured on", low=10, high=MAX_IMAGES)
    k: int = setting(5, "neighbours of the pixel kNN", low=1, high=100)
    components: int = setting(64, "pixel-PCA components (linear judge and Fréchet distance)", low=2, high=512)
    seed: int = setting(0, "which fixed subset, when a split holds more images than asked", low=0, high=2 ** 32 - 1)
    data_dir: str | None = setting(None, "folder holding the real dataset (default: $DFKD_DATA, system locations)")

    def validate(self):
        for f in fields(self):
            d, value = declaration(f), getattr(self, f.name)
            if d["low"] is not None and not d["low"] <= value <= d["high"]:
                raise DfkdError(f"Judges: {f.name} must be between {d['low']} and {d['high']}, got {value}.")

    def key(self) -> dict:
        return asdict(self)
