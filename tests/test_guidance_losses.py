"""The BN-statistics and adversarial terms of the guidance loss: a teacher without BatchNorm
is refused before any model loads, and `adv` steers samples against an online student
trained alongside generation (Fast-Datafree/CMI's L_adv), resumable with the run."""

import pytest
import torch
import torch.nn.functional as F
from tiny_models import tiny_pixel_prior
from torch import nn

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone
from dfkd_core.errors import Cancelled
from dfkd_core.io import load_state
from dfkd_core.methods.diffdfkd.config import GenerateConfig, GuidanceConfig
from dfkd_core.methods.diffdfkd.generate import run_generation
from dfkd_core.methods.diffdfkd.losses import teacher_loss
from dfkd_core.methods.diffdfkd.sampler import guided_sample
from dfkd_core.methods.online_student import CHECKPOINT, OnlineStudent
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.model import Teacher

TARGETS, SEEDS = [0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 4, 5]


def sharp_teacher():
    torch.manual_seed(0)
    model = build_model("small_cnn", 3, 1)
    with torch.no_grad():
        model.fc.weight.mul_(30)
    return Teacher(model, 3, 1, 32, [0.5], [0.25])


def teacher_without_batchnorm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    return Teacher(model, 3, 1, 32, [0.5], [0.25])


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    return tiny_pixel_prior(tmp_path_factory.mktemp("prior"))


def _config(prior, out, **guidance):
    return GenerateConfig(out=str(out), teacher="hand-made", backbone=str(prior), per_class=2, batch_size=3,
                          guidance=GuidanceConfig(steps=4, strength=0.5, candidates=1, **guidance))


def test_a_confidence_stops_pushing_the_samples_that_reach_it():
    """Guidance with confidence c leaves a sample whose target probability is c or more as it is
    (no gradient) and pushes the others exactly as without it."""
    teacher = sharp_teacher()
    images = torch.rand(6, 1, 32, 32, requires_grad=True)
    targets = torch.tensor(TARGETS)
    p = teacher.probs(images.detach()).gather(1, targets.view(-1, 1)).view(-1)
    level = float(p.median())
    full = torch.autograd.grad(teacher_loss(teacher, images, targets, GuidanceConfig()), images)[0]
    capped = torch.autograd.grad(teacher_loss(teacher, images, targets, GuidanceConfig(confidence=level)), images)[0]
    reached = p >= level
    assert reached.any() and (~reached).any()
    assert capped[reached].abs().max() == 0
    assert torch.allclose(capped[~reached], full[~reached])


def test_bn_loss_with_a_teacher_without_batchnorm_is_refused_before_the_backbone_loads(tmp_path):
    cfg = _config(tmp_path / "no-such-backbone", tmp_path / "run", bn=0.1)
    with pytest.raises(DfkdError, match="needs a teacher with BatchNorm layers.*Set bn to 0"):
        run_generation(cfg, teacher=teacher_without_batchnorm())  # the backbone does not exist: never loaded
    assert not (tmp_path / "run" / "images").exists()


def test_bn_loss_refused_by_the_sampler_too(prior):
    backbone = load_backbone(prior, local_files_only=True)
    with pytest.raises(DfkdError, match="BatchNorm"):
        guided_sample(backbone, teacher_without_batchnorm(), [0], [0], GuidanceConfig(steps=2, bn=0.1))


def test_adv_term_is_the_masked_negative_kl():
    teacher, student = sharp_teacher(), OnlineStudent(sharp_teacher(), "small_cnn", seed=3)
    images, targets = torch.rand(8, 1, 16, 16), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    cfg = GuidanceConfig(oh=0.0, adv=2.0)
    with torch.no_grad():
        t, s = teacher(images), student(images)
        kl = (F.softmax(t, 1) * (F.log_softmax(t, 1) - F.log_softmax(s, 1))).sum(1)
        expected = -2.0 * (kl * (t.argmax(1) == s.argmax(1))).sum()
        assert torch.allclose(teacher_loss(teacher, images, targets, cfg, student), expected, atol=1e-5)


def test_adv_without_a_student_is_refused(prior):
    backbone = load_backbone(prior, local_files_only=True)
    with pytest.raises(DfkdError, match="needs an online student"):
        guided_sample(backbone, sharp_teacher(), [0], [0], GuidanceConfig(steps=2, adv=1.0))


def _disagreement(teacher, student, images):
    with torch.no_grad():
        t, s = teacher(images), student(images)
    return (F.softmax(t, 1) * (F.log_softmax(t, 1) - F.log_softmax(s, 1))).sum(1).mean().item()


def test_adv_guidance_seeks_samples_the_student_has_not_learnt(prior):
    backbone, teacher = load_backbone(prior, local_files_only=True), sharp_teacher()
    student = OnlineStudent(teacher, "small_cnn", seed=1)
    base = GuidanceConfig(steps=8, strength=0.5, candidates=1, oh=0.0)
    plain = guided_sample(backbone, teacher, TARGETS, SEEDS, GuidanceConfig(steps=8, strength=0.0))
    adv = guided_sample(backbone, teacher, TARGETS, SEEDS, GuidanceConfig(**{**base.__dict__, "adv": 1.0}), student)
    assert _disagreement(teacher, student, adv.images) > _disagreement(teacher, student, plain.images) + 0.05


def test_generation_trains_the_online_student_and_resumes_with_it(prior, tmp_path):
    teacher = sharp_teacher()
    whole = run_generation(_config(prior, tmp_path / "whole", adv=1.0, adv_student="small_cnn"), teacher=teacher)
    state = load_state(tmp_path / "whole" / CHECKPOINT)
    assert state["batches"] == 2  # 6 samples in batches of 3: the student learnt each
    fresh = OnlineStudent(teacher, "small_cnn")
    assert any(not torch.equal(v, fresh.model.state_dict()[k]) for k, v in state["model"].items())

    without = run_generation(_config(prior, tmp_path / "without"), teacher=teacher)
    assert not torch.equal(whole.load().images, without.load().images)  # adv changes the samples

    polls = iter(range(1000))
    with pytest.raises(Cancelled):  # killed inside the second batch: the student has learnt the first
        run_generation(_config(prior, tmp_path / "resumed", adv=1.0, adv_student="small_cnn"), teacher=teacher,
                       should_stop=lambda: next(polls) >= 6)
    assert load_state(tmp_path / "resumed" / CHECKPOINT)["batches"] == 1
    resumed = run_generation(_config(prior, tmp_path / "resumed", adv=1.0, adv_student="small_cnn"), teacher=teacher)
    assert torch.equal(resumed.load().images, whole.load().images)


def test_online_student_settings_are_checked():
    with pytest.raises(DfkdError, match="adv_student must be one of resnet8"):
        GuidanceConfig(adv=1.0, adv_student="nonet").validate()
    with pytest.raises(DfkdError, match="adv_steps must be >= 1"):
        GuidanceConfig(adv=1.0, adv_steps=0).validate()
