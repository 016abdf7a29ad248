"""The settings of training a classifier (FitConfig, the loop's; TrainConfig, supervised;
DistillConfig, KD) and of the pipeline stage `distill` (DistillSettings), each declared once
with its help and range. Light (no torch): the CLI builds its flags from these."""

from dataclasses import dataclass

from dfkd_core.models.names import ARCHITECTURES, canonical_arch
from dfkd_core.settings import check_types, setting

PRECISIONS = ("fp32", "bf16")
MAX_EPOCHS = 10_000
MAX_BATCH = 4096


@dataclass
class FitConfig:
    """What fit() reads; TrainConfig and DistillConfig add the settings of their losses."""
    epochs: int = setting(20, "passes over the training images", low=1, high=MAX_EPOCHS)
    batch_size: int = setting(128, "images per step (under torchrun / accelerate: all processes together)", low=1,
                              high=MAX_BATCH)
    lr: float = setting(0.05, "peak learning rate of the one-cycle schedule (SGD with Nesterov momentum)", low=0,
                        low_open=True, high=10)
    weight_decay: float = setting(5e-4, "L2 weight decay", low=0, high=1)
    crop_pad: int = setting(2, "random shift of each training image by up to this many pixels (0: none)", low=0,
                            high=64)
    flip: bool = setting(True, "random horizontal flips of the training images")
    seed: int = setting(0, "seed of the weights' start, the batches' order and the augmentation", low=0,
                        high=2 ** 32 - 1)

    def __post_init__(self):  # a config built in Python is checked as one read from a file
        check_types(self, type(self).__name__.replace("Config", "").replace("Settings", "").lower() + " settings")


@dataclass
class TrainConfig(FitConfig):
    epochs: int = setting(15, "passes over the training images", low=1, high=MAX_EPOCHS)
    lr: float = setting(0.1, "peak learning rate of the one-cycle schedule", low=0, low_open=True, high=10)
    label_smoothing: float = setting(0.0, "label smoothing of the cross-entropy", low=0, high=1, high_open=True)


@dataclass
class DistillConfig(FitConfig):
    temperature: float = setting(4.0, "KD temperature T: higher softens the teacher's probabilities", low=0,
                                 low_open=True, high=100)
    kd_weight: float = setting(1.0, "weight of the KD loss", low=0, high=1000)
    ce_weight: float = setting(0.0, "weight of the cross-entropy on the teacher's argmax", low=0, high=1000)
    simkd: bool = setting(False, "SimKD classifier sharing: MSE to the teacher's features, its frozen head predicts")
    mixup: float = setting(0.0, "mixup of batch images with weight ~ Beta(a, a) (0: off)", low=0, high=100)
    precision: str = setting("fp32", "bf16: the networks' forward passes under bfloat16 autocast (about 2x faster on "
                             "a CPU with AMX; losses and weights stay float32)", choices=PRECISIONS)


@dataclass
class DistillSettings(DistillConfig):
    """The pipeline stage `distill`: KD's settings, the student, and what to evaluate it on."""
    student: str = setting("wrn_16_1", "zoo architecture of the student", choices=ARCHITECTURES)
    eval: str | None = setting(None, "real test set evaluated every epoch (e.g. fashion-mnist)")
    eval_split: str = setting("test", "its split")
    eval_subset: int | None = setting(None, "draw the per-epoch curve on this many test images (the final figure "
                                      "uses them all)", low=1, high=10 ** 7)
    data_dir: str | None = setting(None, "folder holding the eval dataset")
    download: bool = setting(False, "download a missing eval dataset (needs network)")
    real_repeat: int = setting(0, "add the run's few real images this many times (HiDFD's data inflation)", low=0,
                               high=1000)
    onnx: bool = setting(True, "also export student.onnx")

    def validate(self, where: str = "distill settings"):
        self.student = canonical_arch(self.student)
