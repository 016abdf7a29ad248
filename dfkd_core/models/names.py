"""The zoo's architecture names (light: no torch), so settings can check them at start-up."""

from dfkd_core.errors import DfkdError

ARCHITECTURES = ("resnet8", "resnet20", "resnet18", "resnet34", "wrn_16_1", "wrn_16_2", "wrn_40_1", "wrn_40_2",
                 "vgg8", "vgg11", "small_cnn")
# Names used by Fast-Datafree/CMI registries and papers, mapped onto ours.
ALIASES = {"vgg8_bn": "vgg8", "vgg11_bn": "vgg11", "wrn16_1": "wrn_16_1", "wrn16_2": "wrn_16_2",
           "wrn40_1": "wrn_40_1", "wrn40_2": "wrn_40_2", "wrn-16-1": "wrn_16_1", "wrn-16-2": "wrn_16_2",
           "wrn-40-1": "wrn_40_1", "wrn-40-2": "wrn_40_2", "resnet-8": "resnet8", "resnet-20": "resnet20"}


def canonical_arch(arch: str) -> str:
    if not isinstance(arch, str):
        raise DfkdError(f"An architecture is a name, e.g. wrn_16_1; got {arch!r}.")
    name = arch.strip().lower()
    name = ALIASES.get(name, name)
    if name not in ARCHITECTURES:
        raise DfkdError(f"Unknown architecture '{arch}'. Expected one of: {', '.join(ARCHITECTURES)}.")
    return name
