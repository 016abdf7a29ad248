"""The settings only the command line has (which device, where to write, how to draw a grid,
the data a teacher trains on), declared once like the engine's: each command's flags come
from these and from the engine's settings dataclasses (flags.py). Light: no torch."""

from dataclasses import dataclass

from dfkd_core.models.inputs import MAX_CLASSES
from dfkd_core.models.names import ARCHITECTURES
from dfkd_core.settings import setting


@dataclass
class DeviceOptions:
    device: str = setting("auto", "auto (CUDA when there is one, else the CPU), cpu, cuda, cuda:N or mps")


@dataclass
class DataOptions:
    data_dir: str | None = setting(None, "folder holding the datasets the run reads (e.g. the one with "
                                   "cifar-10-batches-py/); a stage's own data_dir wins. Checked before any work")
    download: bool = setting(False, "download a missing dataset (needs network) before any work starts")


@dataclass
class InspectOptions:
    """`dfkd teacher inspect`."""
    arch: str | None = setting(None, "zoo architecture (e.g. wrn_40_2) or torchvision:NAME, for bare weights")
    num_classes: int | None = setting(None, "class count of bare weights (checked against them)", low=2,
                                      high=MAX_CLASSES)
    eval: str | None = setting(None, "measure the accuracy on fashion-mnist, cifar10, cifar100 or an image folder")
    split: str = setting("test", "the split of --eval")
    data_dir: str | None = setting(None, "folder holding the dataset (default: $DFKD_DATA, system locations)")
    download: bool = setting(False, "download the --eval dataset (needs network)")
    allow_download: bool = setting(False, "let transformers fetch a hub id")
    trust_remote_code: bool = setting(False, "run a hub model's own code (only if you trust it)")


@dataclass
class TeacherTrainOptions:
    """`dfkd teacher train`: the real data a zoo classifier learns from (TrainConfig: how)."""
    dataset: str = setting("fashion-mnist", "fashion-mnist, cifar10, cifar100 or an image folder")
    split: str = setting("teacher-train", "the split it trains on (fashion-mnist's teacher-train: images "
                         "0-49,999)")
    data_dir: str | None = setting(None, "folder holding the dataset (default: $DFKD_DATA, system locations)")
    download: bool = setting(False, "download the dataset (needs network)")
    work_dir: str | None = setting(None, "checkpoints and metrics (default runs/train-NAME); rerun to resume")


@dataclass
class HiDFDStudentOptions:
    """`dfkd hidfd --student`: what the command sets apart from a distill stage's defaults."""
    student: str | None = setting(None, "zoo architecture: also distil a student (e.g. wrn_16_1)",
                                  choices=ARCHITECTURES)
    real_repeat: int = setting(4, "data inflation: the real images repeated r times beside the samples (a distill "
                               "stage's own default is 0: no real images)", low=0, high=1000)


@dataclass
class JudgeOptions:
    """`dfkd judge`: where it writes, which network judges, and the grid."""
    out: str | None = setting(None, "folder for grid.png and judges.json (default STORE-judges beside the store)")
    cache_dir: str | None = setting(None, "where fitted judges are kept (default RUNS/cache/judges)")
    reference: str = setting("demo", "independent network judge: 'demo' (the kit's WRN-16-1), a classifier source, "
                             "or 'none'")
    columns: int = setting(10, "samples per class in the grid", low=1, high=64)
    scale: int = setting(3, "grid cells are the images scaled up this many times", low=1, high=16)


@dataclass
class SweepOptions:
    """`dfkd sweep`: the seeds every row samples, the grid, and the judges."""
    per_class: int = setting(10, "seeds per class, judged in every row", low=1, high=1000)
    first_seed: int = setting(0, "the first of those seeds", low=0, high=2 ** 48)
    show: int = setting(1, "samples per class shown in the grid (the first seeds)", low=1, high=64)
    scale: int = setting(2, "grid cells are the images scaled up this many times", low=1, high=16)
    batch_size: int = setting(50, "samples per batch", low=1, high=4096)
    out: str | None = setting(None, "grid PNG, the figures beside it as .json (default RUNS/sweeps/sweep.png)")
    reference: str = setting("demo", "the independent network judge: the demo kit's WRN-16-1, or none",
                             choices=("demo", "none"))
    data_dir: str | None = setting(None, "folder holding real Fashion-MNIST for the judges")
    cache_dir: str | None = setting(None, "where fitted judges are kept (default RUNS/cache/judges)")
    threads: int | None = setting(None, "torch CPU threads (default: torch's choice)", low=1, high=1024)


@dataclass
class ExportOptions:
    """`dfkd export`."""
    format: str | None = setting(None, "hf: images + metadata.jsonl (datasets.load_dataset('imagefolder', "
                                 "data_dir=OUT)); webdataset: tar shards of png + cls + json (teacher probabilities)",
                                 choices=("hf", "webdataset"))
    shard_size: int = setting(1000, "samples per WebDataset shard", low=1, high=100_000)
