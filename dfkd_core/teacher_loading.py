"""Build a Teacher from what DFKD users have:

- our own card (`NAME.json` beside `NAME.safetensors`), or our safetensors with --arch;
- Fast-Datafree/CMI `.pth` files (a zoo --arch; CIFAR normalisation by default);
- torchvision checkpoints (--arch torchvision:NAME; ImageNet normalisation, 224 px);
- `transformers` image classifiers: a local folder or a hub id (local files only unless
  the caller allows downloads; no remote code unless asked)."""

from pathlib import Path

from torch import nn

from .errors import DfkdError
from .hub import offline_by_default
from .models.checkpoints import load_zoo_model, read_card, read_state_dict, describe_mismatch
from .teacher import Teacher

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR_NORMALISATION = {10: ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]),
                       100: ([0.5071, 0.4867, 0.4408], [0.2675, 0.2565, 0.2761])}
IMAGENET_NORMALISATION = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
TORCHVISION_PREFIX = "torchvision:"


def load_teacher(source, arch: str | None = None, num_classes: int | None = None,
                 local_files_only: bool | None = None, trust_remote_code: bool = False) -> Teacher:
    src = Path(source)
    if src.suffix == ".json":
        return _from_card(src)
    if src.suffix == ".safetensors" and src.with_suffix(".json").is_file() and not arch:
        return _from_card(src.with_suffix(".json"))
    if src.is_dir():
        if (src / "config.json").is_file():
            return _from_transformers(str(src), True, trust_remote_code)
        raise DfkdError(f"{src} is a folder without config.json. Expected a transformers model folder "
                        "(save_pretrained layout), or a checkpoint file.")
    if src.is_file():
        if not arch:
            raise DfkdError(f"{src}: say which architecture the weights belong to with --arch "
                            "(a zoo name such as wrn_40_2, or torchvision:NAME).")
        if arch.startswith(TORCHVISION_PREFIX):
            return _from_torchvision(src, arch[len(TORCHVISION_PREFIX):], num_classes)
        model = load_zoo_model(src, arch, num_classes)
        n = model.head.out_features
        c = next(m for m in model.modules() if isinstance(m, nn.Conv2d)).in_channels
        mean, std = CIFAR_NORMALISATION.get(n, ([0.5] * 3, [0.5] * 3)) if c == 3 else ([0.5], [0.5])
        names = CIFAR10_CLASSES if (n, c) == (10, 3) else None
        return Teacher(model, n, c, 32, mean, std, names,
                       info={"arch": arch, "source": str(src), "format": "fast-datafree/cmi state dict"})
    if "/" in str(source) and not str(source).startswith((".", "/")):
        offline = local_files_only if local_files_only is not None else offline_by_default()
        return _from_transformers(str(source), offline, trust_remote_code)
    raise DfkdError(f"Teacher source {source} not found. Expected a card (.json), a checkpoint file, "
                    "a transformers model folder, or a hub id (org/name).")


def _from_card(card_path: Path) -> Teacher:
    card = read_card(card_path)
    weights = card_path.parent / card.get("weights", card_path.with_suffix(".safetensors").name)
    if "simkd_teacher_dim" in card:  # a SimKD student: backbone + projector + the teacher's classifier
        from .export import load_simkd_student
        model = load_simkd_student(card["arch"], card, read_state_dict(weights))
    else:
        model = load_zoo_model(weights, card["arch"], card["num_classes"], card["in_channels"])
    return Teacher(model, card["num_classes"], card["in_channels"], card["input_size"], card["mean"], card["std"],
                   card.get("class_names"), info={**card, "source": str(card_path)})


def _from_torchvision(path: Path, name: str, num_classes: int | None) -> Teacher:
    import torchvision

    state_dict = read_state_dict(path)
    if num_classes is None:
        heads = [v for k, v in state_dict.items() if k.endswith("weight") and v.ndim == 2]
        num_classes = heads[-1].shape[0] if heads else 1000
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
    return Teacher(model, num_classes, 3, 224, mean, std,
                   info={"arch": f"{TORCHVISION_PREFIX}{name}", "source": str(path), "format": "torchvision"})


def _from_transformers(source: str, local_files_only: bool, trust_remote_code: bool) -> Teacher:
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
    mean, std, size = [0.5] * 3, [0.5] * 3, 224
    try:
        proc = AutoImageProcessor.from_pretrained(source, local_files_only=local_files_only,
                                                  trust_remote_code=trust_remote_code)
        mean, std = list(proc.image_mean), list(proc.image_std)
        s = proc.size
        size = s.get("height") or s.get("shortest_edge") or size if isinstance(s, dict) else int(s)
    except (OSError, ValueError, AttributeError, TypeError):
        pass  # no preprocessor_config.json: keep the defaults above
    channels = getattr(config, "num_channels", 3)
    names = [config.id2label[i] for i in range(config.num_labels)]
    return Teacher(model, config.num_labels, channels, size, mean[:channels], std[:channels], names,
                   logits_fn=lambda m, x: m(pixel_values=x).logits,
                   info={"arch": type(model).__name__, "source": source, "format": "transformers"})
