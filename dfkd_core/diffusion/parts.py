"""The parts of a diffusers folder, each loaded (or refused) by name, so that a folder
missing one is told which: never a silent default, never diffusers' bare file error."""

from pathlib import Path

from dfkd_core.errors import DfkdError

PART_NAMES = {"unet": "UNet, the denoiser", "vae": "VAE, the image autoencoder", "vqvae": "autoencoder of the latents",
              "text_encoder": "text encoder, CLIP", "tokenizer": "tokenizer, CLIP",
              "image_encoder": "image encoder, CLIP vision", "feature_extractor": "image processor of the encoder",
              "scheduler": "scheduler, the noise schedule"}


def missing_part(source: str, part: str) -> DfkdError:
    return DfkdError(f"'{source}' is a diffusers pipeline folder (model_index.json) without {part}/ "
                     f"(the {PART_NAMES[part]}). Copy the whole pipeline: every folder model_index.json lists.")


def load_part(cls, source: str, part: str, **kw):
    """cls.from_pretrained(source, subfolder=part), with the part named in any error."""
    if Path(source).is_dir() and not (Path(source) / part).is_dir():
        raise missing_part(source, part)
    try:
        return cls.from_pretrained(source, subfolder=part, **kw)
    except (OSError, ValueError) as e:
        raise DfkdError(f"Could not load {part}/ (the {PART_NAMES[part]}) of '{source}': {str(e).splitlines()[0]}")


def require_scheduler(config: dict | None, source: str, pipeline: bool) -> dict:
    """The scheduler config a model was trained with: the timesteps and noise schedule must be
    the model's own, so a folder without one is refused rather than given a default."""
    if config is not None:
        return config
    where = "scheduler/scheduler_config.json" if pipeline else "scheduler_config.json beside config.json"
    raise DfkdError(f"'{source}' has no scheduler config ({where}): the noise schedule the model was trained "
                    "with is needed to sample from it. Save its scheduler there (e.g. "
                    "DDPMScheduler(...).save_pretrained(folder)), or use the complete pipeline folder.")
