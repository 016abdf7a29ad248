import torch

from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.model import Teacher, bn_statistics_loss
from dfkd_core.teacher.preprocess import Preprocess


def _teacher(arch="resnet8", in_channels=1):
    torch.manual_seed(0)
    return Teacher(build_model(arch, 10, in_channels), 10, in_channels, 32, [0.5] * in_channels, [0.25] * in_channels)


def test_preprocess_converts_size_and_channels():
    pre = Preprocess(3, 32, [0.5] * 3, [0.5] * 3)
    out = pre(torch.ones(2, 1, 64, 64))
    assert out.shape == (2, 3, 32, 32) and torch.allclose(out, torch.ones_like(out))
    gray = Preprocess(1, 16, [0.0], [1.0])(torch.ones(1, 3, 16, 16))
    assert gray.shape == (1, 1, 16, 16) and torch.allclose(gray, torch.ones_like(gray), atol=1e-6)


def test_teacher_is_frozen_and_in_eval_mode():
    t = _teacher()
    t.train()
    assert not t.model.training and not any(p.requires_grad for p in t.parameters())


def test_features_are_the_head_input():
    t = _teacher("wrn_16_1")
    x = torch.rand(4, 1, 28, 28)
    logits, feats = t.logits_and_features(x)
    assert feats.shape == (4, 64)
    assert torch.allclose(t.model.head(feats), logits, atol=1e-5)
    assert torch.allclose(t.probs(x).sum(1), torch.ones(4))


def test_bn_statistics_hooks_and_loss_gradient():
    t = _teacher("resnet8")
    x = torch.rand(8, 1, 32, 32, requires_grad=True)
    with t.bn_statistics() as stats:
        t(x)
    assert len(stats) == len(t.batchnorm_layers()) == 9
    loss = bn_statistics_loss(stats)
    loss.backward()
    assert loss.item() > 0 and x.grad.abs().sum() > 0
    # Hooks are gone after the block.
    with torch.no_grad():
        t(x)
    assert len(stats) == 9


def test_bn_loss_is_zero_when_running_stats_equal_the_batch():
    t = _teacher("small_cnn")
    x = torch.rand(16, 1, 32, 32)
    with t.bn_statistics() as stats:
        t(x)
    first = t.batchnorm_layers()[0]
    first.running_mean.copy_(stats[0].mean)
    first.running_var.copy_(stats[0].var)
    assert bn_statistics_loss(stats[:1]).item() < 1e-5
