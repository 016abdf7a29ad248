"""load_backbone: a diffusers folder or hub id -> PixelBackbone, LdmBackbone or LatentBackbone.

Folder layouts: a pipeline (model_index.json with unet/, scheduler/, and vqvae/ for an
LDMPipeline such as the demo prior, or vae/, text_encoder/, tokenizer/ for Stable
Diffusion), or a bare UNet2DModel folder (config.json) with a scheduler/ subfolder or
scheduler_config.json beside it."""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import diffusers
import torch
from huggingface_hub import hf_hub_download

from dfkd_core.errors import DfkdError
from dfkd_core.paths import PRIOR
from dfkd_core.runtime.hub import offline_by_default

from .latent import LatentBackbone
from .ldm import LdmBackbone
from .parts import load_part, require_scheduler
from .pixel import PixelBackbone
from .variation import load_image_variation


def _read_json(source: str, name: str, local_files_only: bool) -> dict | None:
    path = Path(source) / name
    if path.is_file():
        return json.loads(path.read_text())
    if Path(source).exists():
        return None
    try:
        return json.loads(Path(hf_hub_download(source, name, local_files_only=local_files_only)).read_text())
    except Exception:  # not on the hub / not cached: decided by the caller
        return None


def default_dtype(device) -> torch.dtype:
    """fp16 on CUDA (bf16 where supported), fp32 on CPU."""
    if str(device).startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_backbone(source, device="cpu", dtype: torch.dtype | None = None, local_files_only: bool | None = None,
                  guidance_scale: float = 7.5):
    # heavy: keeps diffusers' models off importing diffusion.loading
    from diffusers import AutoencoderKL, UNet2DConditionModel, UNet2DModel

    source = str(source)
    offline = offline_by_default() if local_files_only is None else local_files_only
    dtype = dtype or default_dtype(device)
    kw = dict(local_files_only=offline, torch_dtype=dtype)
    index = _read_json(source, "model_index.json", offline)
    try:
        if index is None:
            config = _read_json(source, "config.json", offline)
            if config is None or config.get("_class_name") != "UNet2DModel":
                where = "on this machine (offline)" if offline else "locally or on the hub"
                raise DfkdError(f"No diffusion model found at '{source}' {where}. Expected a diffusers pipeline "
                                "folder (model_index.json) or a UNet2DModel folder (config.json), or a hub id.")
            sched = require_scheduler(_read_json(source, "scheduler/scheduler_config.json", offline)
                                      or _read_json(source, "scheduler_config.json", offline), source, False)
            return PixelBackbone(UNet2DModel.from_pretrained(source, **kw), sched, source).to(device)
        sched = require_scheduler(_read_json(source, "scheduler/scheduler_config.json", offline), source, True)
        if (index.get("image_encoder") or [None])[0]:  # image-variation layout (lambdalabs/sd-image-variations-diffusers)
            return load_image_variation(source, sched, device, dtype, offline)
        if "vqvae" in index:  # LDMPipeline: an unconditional UNet on an autoencoder's latents (the demo prior)
            ae_class = getattr(diffusers, index["vqvae"][1], None)
            if ae_class not in (diffusers.AutoencoderKL, diffusers.VQModel):
                raise DfkdError(f"'{source}': vqvae/ is a {index['vqvae'][1]}; expected an AutoencoderKL or VQModel.")
            return LdmBackbone(load_part(UNet2DModel, source, "unet", **kw), load_part(ae_class, source, "vqvae", **kw),
                               sched, source).to(device)
        if "vae" in index:
            # heavy: keeps transformers off importing diffusion.loading
            from transformers import CLIPTextModel, CLIPTokenizer
            unet = load_part(UNet2DConditionModel, source, "unet", **kw)
            vae = load_part(AutoencoderKL, source, "vae", **kw)
            text = load_part(CLIPTextModel, source, "text_encoder", **kw)
            tok = load_part(CLIPTokenizer, source, "tokenizer", local_files_only=offline)
            backbone = LatentBackbone(unet, vae, text, tok, sched, source, guidance_scale).to(device)
            if str(device).startswith("cuda"):  # the guidance gradient through UNet + VAE is memory-bound there
                backbone.enable_gradient_checkpointing()
            return backbone
        return PixelBackbone(load_part(UNet2DModel, source, "unet", **kw), sched, source).to(device)
    except (OSError, ValueError) as e:
        raise DfkdError(f"Could not load the diffusion model '{source}': {str(e).splitlines()[0]}")


@lru_cache(maxsize=2)
def load_backbone_cached(source: str, device: str = "cpu"):
    """load_backbone, reused across calls (the app asks for the same backbone often)."""
    return load_backbone(source, device=device)


def weights_digest(source) -> str:
    """What a backbone source holds, so a resumed run can tell it was retrained: for a local
    folder, sha1 of its weights and model configs (reads them all: seconds for Stable
    Diffusion; cards and notes do not count); for a hub id, the id itself."""
    root = Path(str(source))
    if not root.is_dir():
        return str(source)
    h = hashlib.sha1()
    files = [p for p in root.rglob("*") if p.is_file() and (p.suffix in (".safetensors", ".bin")
                                                         or p.name.endswith("config.json"))]
    for path in sorted(files):
        h.update(str(path.relative_to(root)).encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 24), b""):
                h.update(chunk)
    return h.hexdigest()


def backbone_source(name: str) -> str:
    return str(PRIOR) if name == "demo" else name


def resolve_backbone(name: str, device: str, precision: str = "auto"):
    """The backbone `name` on `device`; precision (precision.py) 'auto' loads it in the device's
    default dtype, 'fp32' in float32, 'bf16' in float32 to run under bfloat16 autocast."""
    backbone = load_backbone(backbone_source(name), device=device,
                             dtype=None if precision == "auto" else torch.float32)
    backbone.precision = precision
    if precision == "bf16" and backbone.device.type == "cpu":
        # on a CPU, bf16 autocast gains more on the denoiser in the contiguous layout than in
        # channels-last (the demo prior: bench_precision.py's "denoiser pass" rows)
        backbone.unet.to(memory_format=torch.contiguous_format)
    return backbone
