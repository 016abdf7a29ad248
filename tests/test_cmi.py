"""CMI (dfkd_core.methods.cmi) on a tiny random teacher: the contrastive loss rewards a local view
that matches its own global view, the features are per image, the local view is a
differentiable crop, a batch trains the head and fills the bank (a stopped one changes
nothing), the generator starts afresh each batch, bad settings are refused up front. Resume
and the pipeline stage are tested with Fast-DFKD's (test_fast_dfkd.py)."""

import pytest
import torch
from dda_kit import small_teacher

from dfkd_core.errors import DfkdError
from dfkd_core.methods.cmi.config import CMIConfig
from dfkd_core.methods.cmi.contrast import FeatureBank, ProjectionHead, contrastive_loss, feature_size, instance_means
from dfkd_core.methods.cmi.source import CMI
from dfkd_core.methods.cmi.synthesizer import ContrastiveSynthesizer
from dfkd_core.methods.cmi.views import random_resized_crop_flip
from dfkd_core.methods.online_student import OnlineStudent
from dfkd_core.pipeline.checks import check_run
from dfkd_core.teacher.model import Teacher

TINY = {"nz": 16, "ngf": 8, "synthesis_batch_size": 6, "batch_size": 8, "g_steps": 4, "kd_steps": 2,
        "warmup": 0, "student": "resnet8", "bank_size": 9, "n_neg": 4, "head_dim": 8}


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return small_teacher()


def tiny(**changes) -> CMIConfig:
    return CMIConfig(**{**TINY, **changes}).validate()


def test_the_contrastive_loss_is_low_when_each_local_view_matches_its_own_global_view():
    torch.manual_seed(0)
    head = ProjectionHead(6, 4)
    glob = torch.randn(8, 6) * 3
    empty = torch.zeros(0, 6)
    matched = contrastive_loss(head, glob.clone(), glob, empty, empty, 0.1)
    shuffled = contrastive_loss(head, glob[torch.roll(torch.arange(8), 1)], glob, empty, empty, 0.1)
    assert matched < 0.5 * shuffled


def test_the_contrastive_loss_adds_the_bank_term_and_moves_only_the_local_side():
    torch.manual_seed(0)
    head = ProjectionHead(6, 4)
    local, glob = torch.randn(5, 6, requires_grad=True), torch.randn(5, 6, requires_grad=True)
    bank_local, bank_global = torch.randn(3, 6), torch.randn(3, 6)
    alone = contrastive_loss(head, local, glob, torch.zeros(0, 6), torch.zeros(0, 6), 0.2)
    with_bank = contrastive_loss(head, local, glob, bank_local, bank_global, 0.2)
    # batch mean + bank mean, each over the 8 candidates
    q = head(torch.cat([local, bank_local]))
    k = head(torch.cat([glob, bank_global]))
    ce = torch.nn.functional.cross_entropy(q @ k.T / 0.2, torch.arange(8), reduction="none")
    assert torch.allclose(with_bank, ce[:5].mean() + ce[5:].mean()) and not torch.allclose(alone, with_bank)
    with_bank.backward()
    assert local.grad.abs().sum() > 0 and glob.grad is None  # the global side is the target (detached)


def test_features_are_per_image_channel_means_of_every_bn_input(teacher):
    x = torch.rand(3, 1, 32, 32)
    with instance_means(teacher) as seen:
        teacher(x)
    features = torch.cat(seen, 1)
    assert features.shape == (3, feature_size(teacher))
    with instance_means(teacher) as seen:
        teacher(x[1:2])
    assert torch.allclose(torch.cat(seen, 1)[0], features[1], atol=1e-5)  # one image's feature is its own


def test_the_local_view_is_a_differentiable_crop_that_changes_with_the_draw():
    x = torch.linspace(0, 1, 32).repeat(2, 1, 32, 1).requires_grad_(True)  # a horizontal ramp
    a = random_resized_crop_flip(x, 0.25, torch.Generator().manual_seed(0))
    b = random_resized_crop_flip(x, 0.25, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and not torch.allclose(a, b)
    assert torch.equal(a, random_resized_crop_flip(x, 0.25, torch.Generator().manual_seed(0)))
    a.sum().backward()
    assert x.grad.abs().sum() > 0
    flat = torch.full((2, 1, 32, 32), 0.7)
    assert torch.allclose(random_resized_crop_flip(flat, 0.25, torch.Generator()), flat)


def test_the_bank_keeps_the_newest_pairs_and_draws_without_replacement():
    bank = FeatureBank(4, 2)
    bank.add(torch.zeros(3, 2), torch.ones(3, 2))
    bank.add(torch.full((3, 2), 2.0), torch.full((3, 2), 3.0))
    assert len(bank) == 4 and bank.data[0].tolist() == [0, 0, 1, 1] and bank.data[-1].tolist() == [2, 2, 3, 3]
    local, glob = bank.draw(10, torch.Generator().manual_seed(0))
    assert local.shape == glob.shape == (4, 2)
    with pytest.raises(ValueError, match="does not fit"):
        FeatureBank(2, 2).load_state_dict(bank.state_dict())


@pytest.mark.slow
def test_a_batch_trains_the_head_fills_the_bank_and_a_stopped_one_changes_nothing(teacher):
    synth = ContrastiveSynthesizer(teacher, tiny(g_steps=3), seed=0)
    before = {k: v.clone() for k, v in synth.head.state_dict().items()}
    calls = iter(range(100))
    stopped = synth.episode(torch.tensor([0, 1, 2]), [1, 2, 3], should_stop=lambda: next(calls) >= 2)
    assert not stopped.finished and len(stopped.cr) == 2 and synth.episodes == 0 and len(synth.bank) == 0
    assert all(torch.equal(v, synth.head.state_dict()[k]) for k, v in before.items())
    done = synth.episode(torch.tensor([0, 1, 2]), [1, 2, 3])
    assert done.finished and synth.episodes == 1 and len(synth.bank) == 3
    assert done.images.shape == (3, 1, 32, 32) and 0 <= done.images.min() and done.images.max() <= 1
    assert any(not torch.equal(v, synth.head.state_dict()[k]) for k, v in before.items())
    synth.episode(torch.tensor([0, 1, 2]), [4, 5, 6])
    synth.episode(torch.tensor([0, 1, 2]), [7, 8, 9])
    assert len(synth.bank) == 9 and synth.episodes == 3
    synth.episode(torch.tensor([0, 1, 2]), [10, 11, 12])
    assert len(synth.bank) == 9  # bank_size: the oldest pairs leave


def test_each_batch_starts_from_a_fresh_generator_drawn_from_its_seeds(teacher):
    """Same seeds, same images, whatever came before (the head and bank differ, but step 1's
    images are the fresh generator's); other seeds, other images."""
    cfg = tiny(g_steps=1, adv=0.0)
    first = ContrastiveSynthesizer(teacher, cfg).episode(torch.tensor([0, 1]), [5, 6])
    synth = ContrastiveSynthesizer(teacher, cfg)
    synth.episode(torch.tensor([0, 1]), [1, 2])
    again = synth.episode(torch.tensor([0, 1]), [5, 6])
    other = synth.episode(torch.tensor([0, 1]), [7, 8])
    assert torch.equal(first.images, again.images) and not torch.allclose(first.images, other.images)


def test_the_teacher_cross_entropy_drops_over_a_batch(teacher):
    out = ContrastiveSynthesizer(teacher, tiny(oh=1.0, bn=0.0, adv=0.0, cr=0.0, g_steps=8, lr_g=0.05)).episode(
        torch.tensor([0, 1, 2, 0, 1, 2]), list(range(6)))
    assert out.ce[-1] < 0.75 * out.ce[0]


def test_the_adversarial_loss_counts_from_the_first_batch_at_warmup_0(teacher):
    student = OnlineStudent(teacher, "resnet8", seed=0)
    out = ContrastiveSynthesizer(teacher, tiny(adv=1.0)).episode(torch.tensor([0, 1, 2]), [1, 2, 3], student)
    assert any(a != 0 for a in out.adv)
    assert all(p.requires_grad for p in student.model.parameters())  # frozen only during the batch


def test_a_checkpoint_made_with_other_settings_is_refused(teacher, tmp_path):
    source = CMI(teacher, tiny(adv=0.0), per_class=3, seed=0, folder=tmp_path)
    batch = source.make(source.plan()[:3])
    source.stored(batch)
    assert source.checkpoint.name == "cmi_state.safetensors" and source.checkpoint.exists()
    with pytest.raises(DfkdError, match="other CMI settings; use a new output folder"):
        CMI(teacher, tiny(adv=0.0, cr=0.5), per_class=3, seed=0, folder=tmp_path)
    restored = CMI(teacher, tiny(adv=0.0), per_class=3, seed=0, folder=tmp_path)
    assert restored.synth.episodes == 1 and torch.equal(restored.synth.bank.data, source.synth.bank.data)


def test_a_teacher_without_batchnorm_is_refused_with_a_message():
    plain = Teacher(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 32, 3)), 3, 1, 32, [0.5], [0.25])
    with pytest.raises(DfkdError, match="no BatchNorm layers"):
        ContrastiveSynthesizer(plain, tiny())


def test_a_bank_too_large_for_the_teacher_features_is_refused(teacher, monkeypatch):
    monkeypatch.setattr("dfkd_core.methods.cmi.synthesizer.MAX_BANK_BYTES", 8 * feature_size(teacher) * 100)
    ContrastiveSynthesizer(teacher, tiny(bank_size=100))
    with pytest.raises(DfkdError, match="bank of 101 images .* lower bank_size"):
        ContrastiveSynthesizer(teacher, tiny(bank_size=101))


@pytest.mark.parametrize("settings, message", [
    ({"cr_t": 0.1}, "unknown settings 'cr_t' (did you mean 'cr_T'?)"),
    ({"cr_T": 0}, "cr_T must be > 0"),
    ({"cr": -1}, "cr must be >= 0"),
    ({"local_crop": 0}, "local_crop must be > 0 and <= 1"),
    ({"bank_size": 10 ** 7}, "bank_size must be >= 1 and <= 65536"),
    ({"n_neg": 0}, "n_neg must be >= 1"),
    ({"lr_z": 0.01}, "unknown settings 'lr_z'"),  # Fast-DFKD's, not CMI's
])
def test_bad_settings_are_refused_before_any_work(settings, message):
    with pytest.raises(DfkdError) as e:
        check_run({"teacher": "demo", "device": "cpu", "stages": [{"cmi": settings}, {"distill": {}}]})
    assert "stage 1 'cmi'" in str(e.value) and message in str(e.value)
