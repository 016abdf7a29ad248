"""CLIP image embeddings (transformers CLIPVisionModelWithProjection) of images in [0, 1].

Used for the DDA cosine filter (an option beside the teacher's features) and for
conditioning image-variation pipelines (lambdalabs/sd-image-variations-diffusers)."""

import hashlib
from pathlib import Path

import torch

from dfkd_core.errors import DfkdError


class ClipImageEncoder:
    def __init__(self, model, processor):
        self.model = model.eval().requires_grad_(False)
        self.processor = processor

    @classmethod
    def from_folder(cls, folder, device="cpu", dtype=torch.float32, local_files_only: bool = True):
        """A CLIPVisionModelWithProjection folder, or a pipeline folder holding image_encoder/
        (and feature_extractor/); without a processor config, CLIP's defaults at the model's size."""
        # heavy: keeps transformers off importing models.clip_image
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        root = Path(folder)
        model_dir = root / "image_encoder" if (root / "image_encoder").is_dir() else root
        if not (model_dir / "config.json").is_file():
            raise DfkdError(f"No CLIP image encoder at '{folder}': expected a CLIPVisionModelWithProjection folder "
                            "(config.json + weights) or a pipeline folder with image_encoder/.")
        try:
            model = CLIPVisionModelWithProjection.from_pretrained(str(model_dir), local_files_only=local_files_only,
                                                                  torch_dtype=dtype)
        except (OSError, ValueError) as e:
            raise DfkdError(f"Could not load the CLIP image encoder at '{model_dir}': {str(e).splitlines()[0]}")
        proc_dir = next((d for d in (root / "feature_extractor", model_dir)
                         if (d / "preprocessor_config.json").is_file()), None)
        if proc_dir is None:
            size = model.config.image_size
            processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        else:
            processor = CLIPImageProcessor.from_pretrained(str(proc_dir), local_files_only=local_files_only)
        return cls(model.to(device), processor)

    @property
    def device(self):
        return self.model.device

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] -> (B, D) projected image embeddings."""
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        pixels = self.processor(images=list(images.float().cpu()), do_rescale=False, return_tensors="pt").pixel_values
        return self.model(pixels.to(self.device, self.model.dtype)).image_embeds.float()


def folder_fingerprint(folder) -> str:
    """Changes when any file under the folder changes (name, size or time): a cache key
    that does not need the model loaded."""
    h = hashlib.sha1(str(Path(folder).resolve()).encode())
    for f in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()
