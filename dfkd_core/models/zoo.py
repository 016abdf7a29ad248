"""Names of the classifier zoo and the function that builds them."""

from functools import partial

from torch import nn

from dfkd_core.errors import DfkdError

from .names import ARCHITECTURES, canonical_arch
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
assert tuple(_BUILDERS) == ARCHITECTURES, "models/names.py lists every architecture"


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
