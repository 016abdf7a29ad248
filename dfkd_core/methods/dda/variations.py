"""DDA (diverse diffusion augmentation): SDEdit-style variations of stored samples.

A source image is encoded (the VAE for Stable Diffusion; [-1, 1] for pixel models),
noised to strength s in (0, 1] (the DDIM loop of `steps` steps starts at step
(1 - s) * steps, at least one step before the end), and denoised, optionally with
teacher guidance (the sampler of guidance.py). Image-variation backbones are also
conditioned on each source's CLIP image embedding. Variation k of a source has the id
`<source id>-v<k>` and a seed derived from (source id, k, seed), so it is the same
whatever the batch and however often the run is resumed."""

import hashlib
import json

import torch
import torch.nn.functional as F

from dfkd_core.errors import DfkdError
from dfkd_core.methods.base import Key, Source
from dfkd_core.methods.diffdfkd.sampler import guided_sample
from dfkd_core.methods.writer import REFUSE, REPLACE, SKIP, Made, write_source
from dfkd_core.store import LabelledBatch, SampleStore

from .config import DDAConfig

METHOD = "dda"


def variation_seed(source_id: str, k: int, seed: int) -> int:
    digest = hashlib.sha256(f"{source_id}/{k}/{seed}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def variation_id(source_id: str, k: int) -> str:
    return f"{source_id}-v{k}"


def start_step(strength: float, steps: int) -> int:
    return steps - max(1, round(strength * steps))


def fit_to_backbone(images: torch.Tensor, backbone) -> torch.Tensor:
    """Sources from another model: resize to the backbone's size, match its channels."""
    size, channels = backbone.image_size, backbone.image_channels
    if images.shape[-1] != size or images.shape[-2] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if images.shape[1] != channels:
        images = images.mean(1, keepdim=True).expand(-1, channels, -1, -1)
    return images.clamp(0, 1)


def make_variations(backbone, teacher, sources: torch.Tensor, targets, source_ids, ks, cfg: DDAConfig,
                    should_stop=None, on_preview=None) -> LabelledBatch:
    """One variation per (source image, target, source id, k); on_preview(step, total, x0) each step."""
    cfg.validate()
    images = fit_to_backbone(sources.float(), backbone)
    seeds = [variation_seed(s, k, cfg.seed) for s, k in zip(source_ids, ks)]
    with torch.no_grad():
        init = backbone.encode(images)
        cond = backbone.image_conditioning(images) if hasattr(backbone, "image_conditioning") else None
    gcfg = cfg.guidance_config()
    return guided_sample(backbone, teacher, targets, seeds, gcfg, should_stop=should_stop, init=init,
                         start_step=start_step(cfg.strength, len(backbone.schedule.timesteps(cfg.steps))), cond=cond,
                         on_preview=on_preview, preview_every=1 if on_preview else 0)


def source_rows(store: SampleStore, source_ids=None):
    """The store's sources (samples that are not variations), or those of `source_ids`."""
    df = store.manifest()
    sources = df[df["variation"] == 0]
    if source_ids is None:
        return sources
    unknown = sorted(set(source_ids) - set(sources["id"]))
    if unknown:
        raise DfkdError(f"{store.root} has no source samples {unknown[:5]} (variations are not varied again).")
    return sources.set_index("id", drop=False).loc[list(source_ids)]


def plan(store: SampleStore, cfg: DDAConfig, source_ids=None, overwrite: bool = False) -> list[tuple[str, int]]:
    """(source id, k) still to make. Existing variations made with other settings are an
    error unless `overwrite` (then they are made again)."""
    df = store.manifest()
    existing = {row.id: json.loads(row.settings).get("dda") for row in df[df["variation"] > 0].itertuples()}
    todo, clashes = [], []
    for sid in source_rows(store, source_ids)["id"]:
        for k in range(1, cfg.variations + 1):
            vid = variation_id(sid, k)
            if vid in existing and not overwrite:
                if existing[vid] != cfg.identity():
                    clashes.append(vid)
                continue
            todo.append((sid, k))
    if clashes:
        raise DfkdError(f"{store.root} already holds variations made with other DDA settings (e.g. {clashes[0]}). "
                        "Use the same settings to resume, overwrite them, or write to another store.")
    return todo


class Variations(Source):
    """DDA as a source over an existing store: key (source id, k) is variation k of that
    stored sample, id `<source id>-v<k>`, seed variation_seed(source id, k, cfg.seed)."""
    method = METHOD

    def __init__(self, store: SampleStore, backbone, teacher, cfg: DDAConfig, backbone_name: str = "",
                 on_preview=None):
        super().__init__(teacher)
        self.store, self.backbone, self.cfg, self.on_preview = store, backbone, cfg, on_preview
        self.backbone_name = backbone_name or str(getattr(backbone, "source", ""))

    def keys(self, chunk) -> list[Key]:
        """Keys of [(source id, k)]."""
        targets = self.store.manifest().set_index("id")["target"]
        return [Key(variation_seed(s, k, self.cfg.seed), int(targets[s]), s, k) for s, k in chunk]

    def plan(self, source_ids=None, overwrite: bool = False) -> list[Key]:
        return self.keys(plan(self.store, self.cfg, source_ids, overwrite))

    def make(self, keys, should_stop=None) -> LabelledBatch:
        ids = [k.source_id for k in keys]
        return make_variations(self.backbone, self.teacher, self.store.images(ids), [k.target for k in keys], ids,
                               [k.variation for k in keys], self.cfg, should_stop=should_stop,
                               on_preview=self.on_preview)

    def settings(self) -> dict:
        return {"dda": self.cfg.identity(), "backbone": self.backbone_name,
                "class_names": list(self.teacher.class_names)}

    def rows(self, keys) -> list[dict]:
        return [{"id": k.id, "source_id": k.source_id, "variation": k.variation, "strength": self.cfg.strength,
                 "method": METHOD} for k in keys]


def vary(store: SampleStore, chunk, backbone, teacher, cfg: DDAConfig, should_stop=None,
         on_preview=None) -> LabelledBatch:
    """The variations [(source id, k)] of a store's samples (not stored)."""
    source = Variations(store, backbone, teacher, cfg, on_preview=on_preview)
    return source.make(source.keys(chunk), should_stop)


def save_variations(store: SampleStore, batch: LabelledBatch, chunk, cfg: DDAConfig, teacher,
                    backbone_name: str = "", replace: bool = False):
    """Store variations made already (the Variations tab shows them first), marked with their
    source, k and strength. Variations already in the store are refused (the store's clash
    check) unless `replace`."""
    source = Variations(store, None, teacher, cfg, backbone_name)
    made = Made(batch, teacher, source.settings(), source.rows(source.keys(chunk)))
    write_source(made, store, made.plan(), max(len(chunk), 1), existing=REPLACE if replace else REFUSE)


def augment_store(store: SampleStore, backbone, teacher, cfg: DDAConfig, source_ids=None, overwrite: bool = False,
                  backbone_name: str = "", progress=None, should_stop=None) -> int:
    """Add cfg.variations variations of every source (or of `source_ids`) to the store;
    resumable: what is already there is skipped. Returns how many were made."""
    cfg.validate()
    source = Variations(store, backbone, teacher, cfg, backbone_name)
    keys = source.plan(source_ids, overwrite)
    return write_source(source, store, keys, cfg.batch_size, progress=progress, should_stop=should_stop,
                        existing=REPLACE if overwrite else SKIP)
