"""Names of the classifier zoo and the function that builds them."""

from functools import partial

from torch import nn

from ..errors import DfkdError
from .resnet import ResNet, TinyResNet
from .small_cnn import SmallCNN
from .vgg import VGG
from .wrn import WideResNet

_BUILDERS = {
    "resnet8": partial(TinyResNet, 8),
    "resnet20": partial(TinyResNet, 20),
    "resnet18": partial(ResNet, (2, 2, 2, 2)),
    "resnet34": partial(ResNet, (3, 4, 6, 3)),
    "wrn_16_1": partial(WideResNet, 16, 1),
    "wrn_16_2": partial(WideResNet, 16, 2),
    "wrn_40_1": partial(WideResNet, 40, 1),
    "wrn_40_2": partial(WideResNet, 40, 2),
    "vgg8": partial(VGG, "vgg8"),
    "vgg11": partial(VGG, "vgg11"),
    "small_cnn": SmallCNN,
}
# Names used by Fast-Datafree/CMI registries and papers, mapped onto ours.
ALIASES = {"vgg8_bn": "vgg8", "vgg11_bn": "vgg11", "wrn16_1": "wrn_16_1", "wrn16_2": "wrn_16_2",
           "wrn40_1": "wrn_40_1", "wrn40_2": "wrn_40_2", "wrn-16-1": "wrn_16_1", "wrn-16-2": "wrn_16_2",
           "wrn-40-1": "wrn_40_1", "wrn-40-2": "wrn_40_2", "resnet-8": "resnet8", "resnet-20": "resnet20"}
ARCHITECTURES = tuple(_BUILDERS)


def canonical_arch(arch: str) -> str:
    name = arch.strip().lower()
    name = ALIASES.get(name, name)
    if name not in _BUILDERS:
        raise DfkdError(f"Unknown architecture '{arch}'. Expected one of: {', '.join(ARCHITECTURES)}.")
    return name


def build_model(arch: str, num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    if num_classes < 2:
        raise DfkdError(f"num_classes must be at least 2, got {num_classes}.")
    if in_channels < 1:
        raise DfkdError(f"in_channels must be at least 1, got {in_channels}.")
    return _BUILDERS[canonical_arch(arch)](num_classes=num_classes, in_channels=in_channels)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_batchnorm_layers(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
