"""The settings of the generator-based baselines, named as Fast-Datafree's and CMI's run
scripts name them (datafree_kd.py --adv --bn --oh --lr_g --g_steps --warmup --kd_steps
--synthesis_batch_size --batch_size; Fast-DFKD adds --lr_z --reset_l0 --reset_bn --bn_mmt
--is_maml, CMI --cr --cr_T).

GeneratorConfig holds what both share: a DCGAN-like generator trained per batch of images
on the teacher's CE + BN-statistics + adversarial losses, an image memory and the online
student of the adversarial loss. FastDFKDConfig's defaults are Fast-Datafree's CIFAR-100
script's values, except kd_steps (400 there, for a ResNet-18 student on a GPU).

Not taken over: --ep_steps (episodes per epoch = ep_steps // kd_steps there; here the
number of episodes is the image count / synthesis_batch_size) and --T (the online student
learns with temperature 1, as the `adv` guidance loss's student does)."""

from dataclasses import dataclass

from dfkd_core.errors import DfkdError
from dfkd_core.models.names import canonical_arch
from dfkd_core.settings import number, setting

# Upper bounds: a config cannot ask for a generator, batch or memory that fills the machine.
LIMITS = {"g_steps": 10_000, "kd_steps": 100_000, "synthesis_batch_size": 4096, "batch_size": 4096,
          "nz": 4096, "ngf": 512, "jitter": 64, "memory": 200_000, "warmup": 10**6,
          "bank_size": 65_536, "n_neg": 65_536, "head_dim": 4096}


@dataclass
class GeneratorConfig:
    g_steps: int = 10  # generator steps per batch of images
    lr_g: float = 5e-3  # the generator's learning rate
    oh: float = 0.4  # teacher cross-entropy to the batch's targets
    bn: float = 10.0  # BN-statistics loss (DeepInversion's feature-distribution regulariser)
    adv: float = 1.1  # adversarial loss: -KL(teacher || online student) where they agree
    warmup: int = 20  # batches before the adversarial loss and the online student start
    kd_steps: int = 20  # KD steps of the online student on the memory after each batch
    synthesis_batch_size: int = 100  # images per batch (one episode)
    batch_size: int = 128  # the online student's KD batch, drawn from the memory
    nz: int = 256  # latent size
    ngf: int = 64  # generator width
    jitter: int = 2  # random shift (pixels) + flip the teacher sees each step (Fast-Datafree: 4 at 32 px)
    memory: int = 10_000  # images kept in the memory (the newest), for the online student
    student: str = "wrn_16_1"  # the online student of the adversarial loss
    student_lr: float = 1e-3  # its Adam learning rate

    # (name kinds checked by validate; subclasses add theirs)
    positive_ints = ("g_steps", "synthesis_batch_size", "batch_size", "nz", "ngf", "memory")
    whole_ints = ("kd_steps", "jitter", "warmup")
    rates = ("lr_g", "student_lr")
    weights = ("oh", "bn", "adv")
    flags = ()

    def validate(self, where: str) -> "GeneratorConfig":
        for name in self.positive_ints:
            number(getattr(self, name), name, where, low=1, high=LIMITS[name], integer=True)
        for name in self.whole_ints:
            number(getattr(self, name), name, where, low=0, high=LIMITS[name], integer=True)
        for name in self.rates:
            number(getattr(self, name), name, where, low=0, low_open=True)
        for name in self.weights:
            number(getattr(self, name), name, where, low=0)
        for name in self.flags:
            if not isinstance(getattr(self, name), bool):
                raise DfkdError(f"{where}: {name} must be true or false, got {getattr(self, name)!r}.")
        if not isinstance(self.student, str):
            raise DfkdError(f"{where}: student must be an architecture name, got {self.student!r}.")
        self.student = canonical_arch(self.student)
        return self


@dataclass
class FastDFKDConfig(GeneratorConfig):
    lr_g: float = 5e-3  # the episode's generator learning rate; the meta step's is lr_g * g_steps
    lr_z: float = 0.015  # the learnable latents' learning rate
    bn_mmt: float = 0.9  # momentum of the batch statistics carried across episodes (0: none)
    is_maml: bool = True  # meta-update: first-order MAML (true) or Reptile (false)
    reset_l0: bool = False  # re-initialise the generator's first layer at episode warmup + 120
    reset_bn: bool = False  # and, at that episode, its BatchNorm gains and biases

    rates = GeneratorConfig.rates + ("lr_z",)
    flags = ("is_maml", "reset_l0", "reset_bn")

    def validate(self, where: str = "fast_dfkd") -> "FastDFKDConfig":
        super().validate(where)
        number(self.bn_mmt, "bn_mmt", where, low=0, high=1, high_open=True)
        return self


@dataclass
class FastDFKDSettings(FastDFKDConfig):
    """The pipeline stage `fast_dfkd`: per_class images of every class, one episode per
    synthesis_batch_size images."""
    per_class: int = setting(100, "images per class", low=1, high=100_000)
    seed: int = setting(0, "seed of the plan", low=0, high=2 ** 48)
