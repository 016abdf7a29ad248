"""Fast-DFKD's settings, named as Fast-Datafree's run scripts name them (datafree_kd.py
--adv --bn --oh --lr_g --lr_z --g_steps --warmup --reset_l0 --reset_bn --bn_mmt --is_maml
--kd_steps --synthesis_batch_size --batch_size). Their CIFAR-100 script's values are the
defaults, except kd_steps (400 there, for a ResNet-18 student on a GPU).

Not taken over: --ep_steps (episodes per epoch = ep_steps // kd_steps there; here the
number of episodes is the image count / synthesis_batch_size) and --T (the online student
learns with temperature 1, as the `adv` guidance loss's student does)."""

from dataclasses import dataclass, fields

from ..errors import DfkdError
from ..models.zoo import canonical_arch
from ..settings import number

# Upper bounds: a config cannot ask for a generator, batch or memory that fills the machine.
LIMITS = {"g_steps": 10_000, "kd_steps": 100_000, "synthesis_batch_size": 4096, "batch_size": 4096,
          "nz": 4096, "ngf": 512, "jitter": 64, "memory": 200_000, "warmup": 10**6}


@dataclass
class FastDFKDConfig:
    g_steps: int = 10  # generator steps per episode (from the shared initialisation)
    lr_g: float = 5e-3  # the episode's generator learning rate; the meta step's is lr_g * g_steps
    lr_z: float = 0.015  # the learnable latents' learning rate
    oh: float = 0.4  # teacher cross-entropy to the episode's targets
    bn: float = 10.0  # BN-statistics loss (DeepInversion's feature-distribution regulariser)
    adv: float = 1.1  # adversarial loss: -KL(teacher || online student) where they agree
    bn_mmt: float = 0.9  # momentum of the batch statistics carried across episodes (0: none)
    is_maml: bool = True  # meta-update: first-order MAML (true) or Reptile (false)
    warmup: int = 20  # episodes before the adversarial loss and the online student start
    reset_l0: bool = False  # re-initialise the generator's first layer at episode warmup + 120
    reset_bn: bool = False  # and, at that episode, its BatchNorm gains and biases
    kd_steps: int = 20  # KD steps of the online student on the memory after each episode
    synthesis_batch_size: int = 100  # images per episode
    batch_size: int = 128  # the online student's KD batch, drawn from the memory
    nz: int = 256  # latent size
    ngf: int = 64  # generator width
    jitter: int = 2  # random shift (pixels) + flip the teacher sees each step (Fast-Datafree: 4 at 32 px)
    memory: int = 10_000  # images kept in the memory (the newest), for the online student
    student: str = "wrn_16_1"  # the online student of the adversarial loss
    student_lr: float = 1e-3  # its Adam learning rate

    def validate(self, where: str = "fast_dfkd") -> "FastDFKDConfig":
        for name in ("g_steps", "synthesis_batch_size", "batch_size", "nz", "ngf", "memory"):
            number(getattr(self, name), name, where, low=1, high=LIMITS[name], integer=True)
        for name in ("kd_steps", "jitter", "warmup"):
            number(getattr(self, name), name, where, low=0, high=LIMITS[name], integer=True)
        for name in ("lr_g", "lr_z", "student_lr"):
            number(getattr(self, name), name, where, low=0, low_open=True)
        for name in ("oh", "bn", "adv"):
            number(getattr(self, name), name, where, low=0)
        number(self.bn_mmt, "bn_mmt", where, low=0, high=1, high_open=True)
        for name in ("is_maml", "reset_l0", "reset_bn"):
            if not isinstance(getattr(self, name), bool):
                raise DfkdError(f"{where}: {name} must be true or false, got {getattr(self, name)!r}.")
        if not isinstance(self.student, str):
            raise DfkdError(f"{where}: student must be an architecture name, got {self.student!r}.")
        self.student = canonical_arch(self.student)
        return self


FIELDS = {f.name for f in fields(FastDFKDConfig)}
