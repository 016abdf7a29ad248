"""CMI's settings (datafree_kd.py --method cmi). The loss weights and learning rate are
those of CMI's CIFAR-10 WRN-40-2 -> WRN-16-1 script (--adv 0.5 --bn 1 --oh 0.5 --cr 0.8
--cr_T 0.1 --lr_g 1e-3, --g_steps 200); bank_size and n_neg are smaller than CMI's
(40,960 and 4,096 there) so that a CPU run holds its feature bank in tens of megabytes."""

from dataclasses import dataclass

from dfkd_core.methods.fast_dfkd.config import GeneratorConfig
from dfkd_core.settings import number, setting


@dataclass
class CMIConfig(GeneratorConfig):
    g_steps: int = 200  # generator steps per batch, from a freshly initialised generator
    lr_g: float = 1e-3  # the generator's, the latents' and the projection head's learning rate
    oh: float = 0.5
    bn: float = 1.0
    adv: float = 0.5
    warmup: int = 0  # CMI's student learns (and the adversarial loss counts) from the first batch
    cr: float = 0.8  # weight of the contrastive loss between the batch and the feature bank
    cr_T: float = 0.1  # its temperature
    bank_size: int = 4096  # past images' teacher features kept for the contrastive loss
    n_neg: int = 1024  # of them, drawn as negatives at each step
    head_dim: int = 128  # the projection head's output size
    local_crop: float = 0.25  # smallest area fraction of the local view's random resized crop

    positive_ints = GeneratorConfig.positive_ints + ("bank_size", "n_neg", "head_dim")
    rates = GeneratorConfig.rates + ("cr_T",)
    weights = GeneratorConfig.weights + ("cr",)

    def validate(self, where: str = "cmi") -> "CMIConfig":
        super().validate(where)
        number(self.local_crop, "local_crop", where, low=0, high=1, low_open=True)
        return self


@dataclass
class CMISettings(CMIConfig):
    """The pipeline stage `cmi`: per_class images of every class, one batch of synthesis_batch_size at a time."""
    per_class: int = setting(100, "images per class", low=1, high=100_000)
    seed: int = setting(0, "seed of the plan", low=0, high=2 ** 48)
