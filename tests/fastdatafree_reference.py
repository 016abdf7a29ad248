"""Independent functional re-statement of the Fast-Datafree/CMI classifiers' forward
passes (wresnet.py, resnet.py, resnet_tiny.py, vgg.py), computed straight from a state
dict. Tests compare our zoo against it: if our layout or forward drifted from theirs, a
strict load or the logits would disagree."""

import torch.nn.functional as F


def _bn(sd, p, x):
    return F.batch_norm(x, sd[f"{p}.running_mean"], sd[f"{p}.running_var"], sd[f"{p}.weight"], sd[f"{p}.bias"],
                        training=False, eps=1e-5)


def _conv(sd, p, x, stride=1, padding=None):
    w = sd[f"{p}.weight"]
    pad = w.shape[-1] // 2 if padding is None else padding
    return F.conv2d(x, w, sd.get(f"{p}.bias"), stride=stride, padding=pad)


def wrn(sd, x, depth):
    n = (depth - 4) // 6
    out = _conv(sd, "conv1", x)
    for b, first_stride in ((1, 1), (2, 2), (3, 2)):
        for i in range(n):
            p = f"block{b}.layer.{i}"
            stride = first_stride if i == 0 else 1
            equal = f"{p}.convShortcut.weight" not in sd
            if not equal:
                out = F.relu(_bn(sd, f"{p}.bn1", out))
                y = F.relu(_bn(sd, f"{p}.bn2", _conv(sd, f"{p}.conv1", out, stride)))
            else:
                y = F.relu(_bn(sd, f"{p}.bn2", _conv(sd, f"{p}.conv1", F.relu(_bn(sd, f"{p}.bn1", out)), stride)))
            y = _conv(sd, f"{p}.conv2", y)
            out = (out if equal else _conv(sd, f"{p}.convShortcut", out, stride, 0)) + y
    out = F.relu(_bn(sd, "bn1", out))
    out = F.avg_pool2d(out, 8).flatten(1)
    return F.linear(out, sd["fc.weight"], sd["fc.bias"])


def _residual_stages(sd, x, blocks, shortcut):
    """Post-activation basic blocks; the first block of every stage but the first has stride 2."""
    out = F.relu(_bn(sd, "bn1", _conv(sd, "conv1", x)))
    for s, n in enumerate(blocks, start=1):
        for i in range(n):
            p = f"layer{s}.{i}"
            stride = 2 if (s > 1 and i == 0) else 1
            y = F.relu(_bn(sd, f"{p}.bn1", _conv(sd, f"{p}.conv1", out, stride)))
            y = _bn(sd, f"{p}.bn2", _conv(sd, f"{p}.conv2", y))
            short = (_bn(sd, f"{p}.{shortcut}.1", _conv(sd, f"{p}.{shortcut}.0", out, stride, 0))
                     if f"{p}.{shortcut}.0.weight" in sd else out)
            out = F.relu(y + short)
    return F.adaptive_avg_pool2d(out, 1).flatten(1)


def resnet_cifar(sd, x, blocks):  # resnet.py: shortcut `shortcut`, head `linear`
    return F.linear(_residual_stages(sd, x, blocks, "shortcut"), sd["linear.weight"], sd["linear.bias"])


def resnet_tiny(sd, x, depth):  # resnet_tiny.py: shortcut `downsample`, head `fc`, AvgPool2d(8)
    n = (depth - 2) // 6
    return F.linear(_residual_stages(sd, x, (n, n, n), "downsample"), sd["fc.weight"], sd["fc.bias"])


def vgg(sd, x, stages):
    h = x.shape[2]
    for b, n_convs in enumerate(stages):
        for j in range(n_convs):
            x = _bn(sd, f"block{b}.{3 * j + 1}", _conv(sd, f"block{b}.{3 * j}", x))
            x = F.relu(x)
        if b < 3 or (b == 3 and h == 64):
            x = F.max_pool2d(x, 2, 2)
    x = F.adaptive_avg_pool2d(x, 1).flatten(1)
    return F.linear(x, sd["classifier.weight"], sd["classifier.bias"])


REFERENCES = {
    "wrn_16_1": lambda sd, x: wrn(sd, x, 16), "wrn_16_2": lambda sd, x: wrn(sd, x, 16),
    "wrn_40_1": lambda sd, x: wrn(sd, x, 40), "wrn_40_2": lambda sd, x: wrn(sd, x, 40),
    "resnet18": lambda sd, x: resnet_cifar(sd, x, (2, 2, 2, 2)), "resnet34": lambda sd, x: resnet_cifar(sd, x, (3, 4, 6, 3)),
    "resnet8": lambda sd, x: resnet_tiny(sd, x, 8), "resnet20": lambda sd, x: resnet_tiny(sd, x, 20),
    "vgg8": lambda sd, x: vgg(sd, x, (1, 1, 1, 1, 1)), "vgg11": lambda sd, x: vgg(sd, x, (1, 1, 2, 2, 2)),
}

# Parameter counts of the published CIFAR-10 (3x32x32, 10 classes) classifiers, as printed by
# their code (state-dict tensors, excluding num_batches_tracked): a layout check.
EXPECTED_KEYS = {
    "wrn_40_2": ["conv1.weight", "block1.layer.0.bn1.weight", "block1.layer.0.convShortcut.weight",
                 "block2.layer.5.conv2.weight", "bn1.running_var", "fc.weight"],
    "resnet34": ["conv1.weight", "layer2.0.shortcut.0.weight", "layer2.0.shortcut.1.running_mean",
                 "layer4.2.bn2.bias", "linear.weight"],
    "resnet8": ["conv1.weight", "layer2.0.downsample.0.weight", "layer3.0.downsample.1.weight", "fc.bias"],
    "vgg8": ["block0.0.weight", "block0.0.bias", "block0.1.running_mean", "block4.1.weight", "classifier.weight"],
    "vgg11": ["block2.3.weight", "block4.4.running_var", "classifier.bias"],
}
