import pytest
import torch
from fastdatafree_reference import EXPECTED_KEYS, REFERENCES

from dfkd_core import DfkdError
from dfkd_core.models.names import ARCHITECTURES, canonical_arch
from dfkd_core.models.zoo import build_model, count_parameters

FEATURE_DIMS = {"resnet8": 64, "resnet20": 64, "resnet18": 512, "resnet34": 512, "wrn_16_1": 64, "wrn_16_2": 128,
                "wrn_40_1": 64, "wrn_40_2": 128, "vgg8": 512, "vgg11": 512, "small_cnn": 128}


@pytest.mark.parametrize("arch", ARCHITECTURES)
@pytest.mark.parametrize("in_channels", [1, 3])
def test_forward_logits_features_and_feature_map(arch, in_channels):
    model = build_model(arch, num_classes=7, in_channels=in_channels).eval()
    x = torch.randn(2, in_channels, 32, 32)
    logits, feats, fmap = model(x, return_features=True, return_feature_map=True)
    assert logits.shape == (2, 7)
    assert feats.shape == (2, FEATURE_DIMS[arch])
    assert fmap.ndim == 4 and fmap.shape[:2] == (2, FEATURE_DIMS[arch])
    assert torch.allclose(model(x), logits)
    assert torch.allclose(model.head(feats), logits, atol=1e-5)


@pytest.mark.parametrize("arch", sorted(REFERENCES))
def test_logits_match_the_fast_datafree_forward(arch):
    torch.manual_seed(0)
    model = build_model(arch, 10, 3).eval()
    # Non-trivial BN statistics, so a BN applied in the wrong place would show.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ours = model(x)
        theirs = REFERENCES[arch](model.state_dict(), x)
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("arch", sorted(EXPECTED_KEYS))
def test_state_dict_layout_uses_their_names(arch):
    keys = build_model(arch, 10, 3).state_dict().keys()
    for key in EXPECTED_KEYS[arch]:
        assert key in keys


def test_parameter_counts_match_published_cifar10_models():
    # CIFAR-10, 3 input channels: the figures their papers and code report.
    assert count_parameters(build_model("resnet18", 10, 3)) == 11_173_962
    assert count_parameters(build_model("resnet34", 10, 3)) == 21_282_122
    assert count_parameters(build_model("wrn_40_2", 10, 3)) == 2_243_546


def test_aliases_and_unknown_names():
    assert canonical_arch("VGG8_BN") == "vgg8"
    assert canonical_arch("wrn-40-2") == "wrn_40_2"
    with pytest.raises(DfkdError, match="Unknown architecture 'resnet99'.*wrn_40_2"):
        build_model("resnet99")
    with pytest.raises(DfkdError, match="num_classes"):
        build_model("resnet8", num_classes=1)
