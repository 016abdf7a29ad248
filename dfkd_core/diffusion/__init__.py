from .latent import CLASS_PROMPT, PLAIN_PROMPT, LatentBackbone
from .loading import load_backbone, load_backbone_cached, weights_digest
from .pixel import PixelBackbone
from .schedule import NoiseSchedule, generators_for, per_sample_noise

__all__ = ["load_backbone", "load_backbone_cached", "weights_digest", "PixelBackbone", "LatentBackbone",
           "NoiseSchedule", "generators_for", "per_sample_noise", "CLASS_PROMPT", "PLAIN_PROMPT"]
