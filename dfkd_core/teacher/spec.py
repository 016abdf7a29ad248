"""What names a teacher: one dataclass for the YAML form (`teacher: {source: ..., arch: ...}`)
and the CLI flags (--teacher, --teacher-arch, ...), checked before anything is loaded.

Bare weights (Fast-Datafree/CMI `.pth`, torchvision checkpoints) say nothing about their
input: arch, num_classes, input size and normalisation can be declared here. Anything not
declared comes from the source (a card, an image processor) or the format's defaults."""

import math
from dataclasses import asdict, dataclass, fields

from dfkd_core.errors import DfkdError
from dfkd_core.models.inputs import MAX_CLASSES, MAX_INPUT_SIZE, NORMALISATIONS
from dfkd_core.models.names import canonical_arch
from dfkd_core.paths import TEACHER
from dfkd_core.settings import check_keys, flag_type

FLAGS = {"source": "--teacher", "arch": "--teacher-arch", "num_classes": "--teacher-num-classes",
         "input_size": "--teacher-input-size", "mean": "--teacher-mean", "std": "--teacher-std"}


def _count(value, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DfkdError(f"teacher {name} must be a whole number from {low} to {high}, got {value!r}.")
    return value


def _numbers(value, name: str) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    ok = isinstance(value, (list, tuple)) and len(value) in (1, 3) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1 for v in value)
    if not ok:  # of images in [0, 1]: a mean or std past 1 is a mistake (0-255 units, say)
        raise DfkdError(f"teacher {name} must be 1 or 3 numbers from 0 to 1 (one per channel, for images in "
                        f"[0, 1]), got {value!r}.")
    return tuple(float(v) for v in value)


@dataclass(frozen=True)
class TeacherSpec:
    source: str = "demo"  # 'demo', a card, weights, a transformers folder or a hub id
    arch: str | None = None  # zoo name (wrn_40_2) or torchvision:NAME, for bare weights
    num_classes: int | None = None  # checked against the weights' classifier
    input_size: int | None = None  # side of the square image the teacher takes
    mean: tuple | None = None  # per-channel normalisation of images in [0, 1]
    std: tuple | None = None

    def __post_init__(self):
        if not isinstance(self.source, str) or not self.source.strip() or self.source != self.source.strip():
            raise DfkdError(f"teacher source must be a non-empty path or name without surrounding spaces, "
                            f"got {self.source!r}.")
        if self.arch is not None and (not isinstance(self.arch, str) or not self.arch.strip()):
            raise DfkdError(f"teacher arch must be a name such as wrn_40_2 or torchvision:resnet18, got {self.arch!r}.")
        if self.arch is not None and not self.arch.startswith("torchvision:"):
            canonical_arch(self.arch)  # an unknown name is refused now, not after loading the rest
        _count(self.num_classes, "num_classes", 2, MAX_CLASSES)
        _count(self.input_size, "input_size", 1, MAX_INPUT_SIZE)
        object.__setattr__(self, "mean", _numbers(self.mean, "mean"))
        object.__setattr__(self, "std", _numbers(self.std, "std"))
        if (self.mean is None) != (self.std is None):
            raise DfkdError("Declare the teacher's mean and std together (or a named normalization).")
        if self.std is not None and (len(self.std) != len(self.mean) or min(self.std) <= 0):
            raise DfkdError(f"teacher std must be positive, one per mean value: mean {list(self.mean)}, "
                            f"std {list(self.std)}.")

    @classmethod
    def from_config(cls, value, where: str = "teacher") -> "TeacherSpec":
        """A source string, or a mapping of the fields above (plus `normalization: NAME`)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(source=value)
        if not isinstance(value, dict) or "source" not in value:
            raise DfkdError(f"{where}: expected a source or a mapping with `source:` and any of "
                            f"{[f.name for f in fields(cls)][1:]}, got {value!r}.")
        value = dict(value)
        check_keys(value, [f.name for f in fields(cls)] + ["normalization"], where, "keys")
        apply_normalization(value, value.pop("normalization", None))
        return cls(**value)

    def to_config(self):
        """The YAML form: the bare source when nothing else is declared."""
        declared = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v is not None}
        return self.source if set(declared) == {"source"} else declared

    def load(self, **loader_options):
        """The Teacher (loader_options: local_files_only, trust_remote_code)."""
        from .loading import load_teacher  # heavy: keeps torch off the CLI's start-up
        source = str(TEACHER) if self.source == "demo" else self.source
        return load_teacher(source, arch=self.arch, num_classes=self.num_classes, input_size=self.input_size,
                            mean=self.mean, std=self.std, **loader_options)


def apply_normalization(fields_: dict, name) -> None:
    """Fill mean and std from a named normalization (cifar10, cifar100, imagenet)."""
    if name is None:
        return
    if name not in NORMALISATIONS:
        raise DfkdError(f"Unknown teacher normalization {name!r}; expected one of {sorted(NORMALISATIONS)}.")
    if fields_.get("mean") is not None or fields_.get("std") is not None:
        raise DfkdError("Declare the teacher's normalization either by name or as mean and std, not both.")
    fields_["mean"], fields_["std"] = NORMALISATIONS[name]


def add_teacher_arguments(parser, default: str | None = "demo") -> None:
    """--teacher and the flags that declare bare weights. default None: the config's teacher."""
    g = parser.add_argument_group("teacher", "what to distil from; the --teacher-* flags declare bare weights")
    g.add_argument(FLAGS["source"], default=default, help="'demo', a card (.json), weights (.pth/.safetensors), "
                   "a transformers folder or a hub id" + ("" if default else " (default: the config's teacher)"))
    g.add_argument(FLAGS["arch"], help="architecture of bare weights: a zoo name (wrn_40_2) or torchvision:NAME")
    g.add_argument(FLAGS["num_classes"], type=flag_type(int, FLAGS["num_classes"], low=2, high=MAX_CLASSES),
                   help=f"class count (checked against the weights; 2 to {MAX_CLASSES})")
    g.add_argument(FLAGS["input_size"], type=flag_type(int, FLAGS["input_size"], low=1, high=MAX_INPUT_SIZE),
                   help=f"input side in pixels (e.g. 32 for a CIFAR teacher; 1 to {MAX_INPUT_SIZE})")
    g.add_argument(FLAGS["mean"], type=flag_type(float, FLAGS["mean"], low=0, high=1), nargs="+",
                   help="per-channel mean of images in [0, 1] (each 0 to 1)")
    g.add_argument(FLAGS["std"], type=flag_type(float, FLAGS["std"], low=0, high=1, low_open=True), nargs="+",
                   help="per-channel std (each above 0, at most 1)")
    g.add_argument("--teacher-normalization", choices=sorted(NORMALISATIONS),
                   help="a named mean/std instead of --teacher-mean/--teacher-std")


def _declared_flags(args) -> dict:
    names = ["arch", "num_classes", "input_size", "mean", "std"]
    return {n: getattr(args, f"teacher_{n}") for n in names if getattr(args, f"teacher_{n}") is not None}


def teacher_spec_from_args(args, base=None) -> TeacherSpec:
    """The spec the flags give. Without --teacher, the flags declare more about `base` (a
    config's teacher, default 'demo'); a new --teacher starts afresh."""
    fields_ = {"source": args.teacher} if args.teacher is not None else \
        asdict(TeacherSpec.from_config("demo" if base is None else base))
    declared = _declared_flags(args)
    if args.teacher_normalization:
        fields_.pop("mean", None), fields_.pop("std", None)
        apply_normalization(declared, args.teacher_normalization)
    return TeacherSpec(**{**fields_, **declared})


def override_teacher_config(args, base):
    """`base` (a config's teacher) unchanged when no teacher flag is given, else the merged
    spec in YAML form: a rerun without flags resumes the same config."""
    if args.teacher is None and not _declared_flags(args) and not args.teacher_normalization:
        return base
    return teacher_spec_from_args(args, base).to_config()


def resolve_teacher(spec):
    """'demo', a teacher source, or a mapping {source, arch, num_classes, input_size, mean, std}
    (for bare weights such as Fast-Datafree/CMI or torchvision checkpoints): see TeacherSpec."""
    return TeacherSpec.from_config(spec).load()
