"""Build a Teacher from what DFKD users have:

- our own card (`NAME.json` beside `NAME.safetensors`), or our safetensors with an arch;
- Fast-Datafree/CMI `.pth` files (a zoo arch; 32 px, CIFAR normalisation by default);
- torchvision checkpoints (arch torchvision:NAME; 224 px, ImageNet normalisation by default);
- `transformers` image classifiers: a local folder or a hub id (local files only unless
  the caller allows downloads; no remote code unless asked), input read off the image processor.

input_size, mean and std, when given, override what the source says or the defaults
(e.g. a torchvision ResNet trained on 32-px CIFAR)."""

from pathlib import Path

import torch
from torch import nn

from dfkd_core.errors import DfkdError
from dfkd_core.models.cards import load_card_model
from dfkd_core.models.checkpoints import describe_mismatch, load_zoo_model, read_state_dict
from dfkd_core.models.inputs import NORMALISATIONS
from dfkd_core.models.names import canonical_arch
from dfkd_core.runtime.hub import looks_like_hub_id, offline_by_default

from .model import Teacher
from .processor_input import ProcessorInput, read_processor

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR_NORMALISATION = {10: NORMALISATIONS["cifar10"], 100: NORMALISATIONS["cifar100"]}
IMAGENET_NORMALISATION = NORMALISATIONS["imagenet"]
TORCHVISION_PREFIX = "torchvision:"
ARCH_HINT = ("declare their architecture with --teacher-arch NAME (dfkd generate, distill, run), --arch NAME "
             "(dfkd teacher inspect), or `arch: NAME` in a config's teacher mapping; NAME is a zoo name such "
             "as wrn_40_2, or torchvision:NAME")


def load_teacher(source, arch: str | None = None, num_classes: int | None = None,
                 local_files_only: bool | None = None, trust_remote_code: bool = False,
                 input_size: int | None = None, mean=None, std=None) -> Teacher:
    declared = {"input_size": input_size, "mean": mean, "std": std, "num_classes": num_classes}
    src = Path(source)
    if src.suffix == ".safetensors" and src.with_suffix(".json").is_file() and not arch:
        src = src.with_suffix(".json")
    if src.suffix == ".json":
        model, card = load_card_model(src)
        if arch and canonical_arch(arch) != canonical_arch(card["arch"]):
            raise DfkdError(f"{src} is a card for '{card['arch']}', but the architecture '{arch}' was declared. "
                            "A card names its own architecture: declare none, or pass its weights file instead.")
        inputs = ProcessorInput(card["input_size"], card.get("resize_size") or card["input_size"],
                                card["mean"], card["std"])
        return _teacher(model, card["num_classes"], card["in_channels"], inputs, declared, card.get("class_names"),
                        {**card, "source": str(src)})
    if src.is_dir():
        if (src / "config.json").is_file():
            if arch:
                raise DfkdError(f"{src} is a transformers model folder, whose config.json names its architecture; "
                                f"the architecture '{arch}' declared for it is only for bare weights: declare none.")
            return _from_transformers(str(src), True, trust_remote_code, declared)
        raise DfkdError(f"{src} is a folder without config.json. Expected a transformers model folder "
                        "(save_pretrained layout), or a checkpoint file.")
    if src.is_file():
        if not arch:
            raise DfkdError(f"{src} holds bare weights: {ARCH_HINT}.")
        if arch.startswith(TORCHVISION_PREFIX):
            return _from_torchvision(src, arch[len(TORCHVISION_PREFIX):], num_classes, declared)
        model = load_zoo_model(src, arch, num_classes)
        n = model.head.out_features
        c = next(m for m in model.modules() if isinstance(m, nn.Conv2d)).in_channels
        mean, std = CIFAR_NORMALISATION.get(n, ([0.5] * 3, [0.5] * 3)) if c == 3 else ([0.5], [0.5])
        names = CIFAR10_CLASSES if (n, c) == (10, 3) else None
        return _teacher(model, n, c, ProcessorInput(32, 32, mean, std), declared, names,
                        {"arch": arch, "source": str(src), "format": "fast-datafree/cmi state dict"})
    if looks_like_hub_id(source):
        offline = local_files_only if local_files_only is not None else offline_by_default()
        return _from_transformers(str(source), offline, trust_remote_code, declared)
    raise DfkdError(f"Teacher file {source} not found (looked for {src.expanduser().resolve()}). Expected a card "
                    "(.json), a checkpoint file, a transformers model folder, or a hub id (org/name).")


def _teacher(model, num_classes, channels, inputs: ProcessorInput, declared: dict, names, info,
             logits_fn=None) -> Teacher:
    """The Teacher with the declared input (if any) over the source's, once its weights are finite."""
    source = info.get("source")
    if declared["num_classes"] not in (None, num_classes):
        raise DfkdError(f"{source}: {declared['num_classes']} classes were declared, but the teacher has {num_classes}.")
    check_finite_weights(model, source)
    if declared["input_size"] is not None:
        inputs.input_size = inputs.resize_size = int(declared["input_size"])
    for key in ("mean", "std"):
        values = declared[key]
        if values is not None:
            values = list(values) * channels if len(values) == 1 else list(values)
            if len(values) != channels:
                raise DfkdError(f"{source}: the teacher takes {channels}-channel images, but its declared {key} "
                                f"has {len(values)} values. Give {channels} (or 1 for every channel).")
            setattr(inputs, key, values)
    return Teacher(model, num_classes, channels, inputs.input_size, inputs.mean, inputs.std, names,
                   logits_fn=logits_fn, info=info, resize_size=inputs.resize_size)


def check_finite_weights(model: nn.Module, source) -> None:
    """A teacher with NaN or infinite weights or BN statistics turns every image and every
    gradient into NaN: refuse it at load, naming the tensors."""
    bad = [(name, int((~torch.isfinite(t)).sum())) for name, t in model.state_dict().items()
           if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        listing = ", ".join(f"{name} ({count} values)" for name, count in bad[:3])
        more = f" and {len(bad) - 3} more tensors" if len(bad) > 3 else ""
        raise DfkdError(f"{source}: the teacher's weights hold NaN or infinite values: {listing}{more}. "
                        "The checkpoint is damaged or was saved after training diverged; use another one.")


def _from_torchvision(path: Path, name: str, num_classes: int | None, declared: dict) -> Teacher:
    import torchvision  # heavy: keeps torchvision off importing teacher.loading

    state_dict = read_state_dict(path)
    heads = [v for k, v in state_dict.items() if k.endswith("weight") and v.ndim == 2]
    found = heads[-1].shape[0] if heads else None
    if num_classes is not None and found is not None and num_classes != found:
        raise DfkdError(f"{path}: wrong class count: you asked for {num_classes} classes but the checkpoint's "
                        f"classifier has {found} outputs.")
    num_classes = found or 1000  # built with the weights' size, never a declared one: it is checked below
    try:
        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    except (ValueError, KeyError):
        raise DfkdError(f"Unknown torchvision model '{name}'. Expected one of "
                        f"torchvision.models.list_models(), e.g. resnet18.")
    problem = describe_mismatch(model, state_dict, f"torchvision '{name}' with {num_classes} classes")
    if problem:
        raise DfkdError(f"{path}: {problem}")
    model.load_state_dict(state_dict, strict=True)
    mean, std = IMAGENET_NORMALISATION
    names = CIFAR10_CLASSES if num_classes == 10 and declared["input_size"] == 32 else None
    return _teacher(model, num_classes, 3, ProcessorInput(224, 224, mean, std), declared, names,
                    {"arch": f"{TORCHVISION_PREFIX}{name}", "source": str(path), "format": "torchvision"})


def _from_transformers(source: str, local_files_only: bool, trust_remote_code: bool, declared: dict) -> Teacher:
    # heavy: keeps transformers off importing teacher.loading
    from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification

    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local_files_only,
                                            trust_remote_code=trust_remote_code)
        model = AutoModelForImageClassification.from_pretrained(
            source, local_files_only=local_files_only, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        where = "this machine (offline mode)" if local_files_only else "the hub or this machine"
        raise DfkdError(f"Could not load a transformers image classifier from '{source}' on {where}: "
                        f"{str(e).splitlines()[0]}")
    channels = getattr(config, "num_channels", 3)
    try:
        proc = AutoImageProcessor.from_pretrained(source, local_files_only=local_files_only,
                                                  trust_remote_code=trust_remote_code)
    except (OSError, ValueError):
        proc = None  # no preprocessor_config.json: the model's own image_size, mean/std 0.5
    inputs = ProcessorInput(None, None, [0.5] * channels, [0.5] * channels)
    if proc is not None:
        inputs = read_processor(proc, channels, source, size_declared=declared["input_size"] is not None)
    if inputs.input_size is None:
        size = getattr(config, "image_size", None)
        size = size[0] if isinstance(size, (list, tuple)) else size
        inputs.input_size = inputs.resize_size = int(size or 224)
    names = [config.id2label[i] for i in range(config.num_labels)]
    return _teacher(model, config.num_labels, channels, inputs, declared, names,
                    {"arch": type(model).__name__, "source": source, "format": "transformers"},
                    logits_fn=lambda m, x: m(pixel_values=x).logits)
