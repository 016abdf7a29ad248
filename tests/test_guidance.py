"""Backbones loaded through the real loader, the guided sampler and Latent CutMix."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from tiny_models import tiny_pixel_prior, tiny_stable_diffusion

from dfkd_core import DfkdError
from dfkd_core.diffusion import LatentBackbone, PixelBackbone, load_backbone
from dfkd_core.errors import Cancelled
from dfkd_core.methods.diffdfkd.config import CutMixConfig, GuidanceConfig
from dfkd_core.methods.diffdfkd.cutmix import latent_cutmix
from dfkd_core.methods.diffdfkd.candidates import candidate_seeds, choose_starts, preview_probs
from dfkd_core.methods.diffdfkd.sampler import guided_sample
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.model import Teacher

TARGETS, SEEDS = [0, 1, 2, 3, 4, 5, 6, 7], list(range(8))


def sharp_teacher(num_classes=10, channels=1, names=None, scale=30):
    """A random classifier with a scaled-up head, so its probabilities respond to its input."""
    torch.manual_seed(0)
    model = build_model("small_cnn", num_classes, channels)
    with torch.no_grad():
        model.fc.weight.mul_(scale)
    return Teacher(model, num_classes, channels, 32, [0.5] * channels, [0.25] * channels, names)


@pytest.fixture(scope="module")
def pixel(tmp_path_factory):
    return load_backbone(tiny_pixel_prior(tmp_path_factory.mktemp("prior")), local_files_only=True)


@pytest.fixture(scope="module")
def latent(tmp_path_factory):
    return load_backbone(tiny_stable_diffusion(tmp_path_factory.mktemp("sd")), local_files_only=True,
                         guidance_scale=2.0)


def test_loader_builds_the_right_backbones(pixel, latent, tmp_path):
    assert isinstance(pixel, PixelBackbone) and pixel.latent_shape() == (1, 16, 16)
    assert isinstance(latent, LatentBackbone) and latent.latent_shape() == (4, 8, 8) and latent.image_size == 16
    with pytest.raises(DfkdError, match="No diffusion model found"):
        load_backbone(tmp_path, local_files_only=True)


@pytest.mark.parametrize("mode", ["x0", "full"])
def test_guidance_raises_the_target_probability_on_the_same_seeds(pixel, mode):
    teacher = sharp_teacher()
    base = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=25, strength=0.0))
    guided = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=25, strength=0.5, mode=mode))
    assert guided.target_prob.mean() > base.target_prob.mean() + 0.03
    assert (guided.target_prob > base.target_prob).float().mean() >= 0.75


def test_reusing_the_gradient_direction_between_teacher_passes(pixel):
    teacher = sharp_teacher()
    base = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=24, strength=0.0))
    calls = []
    teacher.model.register_forward_hook(lambda *_: calls.append(1))
    one = GuidanceConfig(steps=24, strength=0.5, candidates=1, every=1, window=(0.0, 1.0))
    runs, passes = {}, []
    for name, cfg in [("every step", one), ("every third", replace(one, every=3, every_from=0.0)),
                      ("every third from half", replace(one, every=3, every_from=0.5))]:
        calls[:] = []
        runs[name] = guided_sample(pixel, teacher, TARGETS, SEEDS, cfg)
        passes.append(len(calls) - 1)  # the last call gives the final probabilities
    assert passes == [24, 8, 12 + 4]  # fresh at steps 0..23; at 0, 3, .., 21; at 0..11, then 12, 15, 18, 21
    for r in runs.values():
        assert r.target_prob.mean() > base.target_prob.mean() + 0.03
    assert not torch.equal(runs["every third"].images, runs["every step"].images)
    assert not torch.equal(runs["every third from half"].images, runs["every third"].images)


@pytest.mark.parametrize("mode", ["x0", "full"])
def test_latent_guidance_through_the_vae_decoder(latent, mode):
    teacher = sharp_teacher(3, 3, ["cat", "dog", "fox"])
    base = guided_sample(latent, teacher, [0, 1, 2, 0], [0, 1, 2, 3], GuidanceConfig(steps=6, strength=0.0))
    guided = guided_sample(latent, teacher, [0, 1, 2, 0], [0, 1, 2, 3], GuidanceConfig(steps=6, strength=1.0, mode=mode))
    assert guided.images.shape == (4, 3, 16, 16)
    assert guided.target_prob.mean() > base.target_prob.mean() + 0.05


def test_gradient_checkpointing_gives_the_same_samples(latent):
    teacher, cfg = sharp_teacher(3, 3, ["cat", "dog", "fox"]), GuidanceConfig(steps=3, strength=1.0, mode="full")
    plain = guided_sample(latent, teacher, [0, 1], [5, 6], cfg)
    latent.enable_gradient_checkpointing()
    try:
        checkpointed = guided_sample(latent, teacher, [0, 1], [5, 6], cfg)
    finally:
        for m in (latent.unet, latent.vae):
            m.disable_gradient_checkpointing()
    assert torch.allclose(plain.images, checkpointed.images, atol=1e-5)


def test_prompts_with_and_without_the_class_name(latent):
    with_name = latent.conditioning(torch.tensor([0, 1]), ["cat", "dog"], "a photo of a {class}")[0]
    plain = latent.conditioning(torch.tensor([0, 1]), ["cat", "dog"], "a realistic photo.")[0]
    assert not torch.allclose(with_name[0], with_name[1]) and torch.allclose(plain[0], plain[1])


@pytest.mark.parametrize("candidates", [1, 3])
def test_seeds_give_identical_samples_whatever_the_batch(pixel, candidates):
    """Bit-identical beside other batch-mates and when repeated; within rounding in a batch of
    another size (see test_guidance_levers: rounding differs by batch size and CPU)."""
    teacher, cfg = sharp_teacher(), GuidanceConfig(steps=5, strength=0.3, candidates=candidates)
    full = guided_sample(pixel, teacher, TARGETS, SEEDS, cfg)
    again = guided_sample(pixel, teacher, TARGETS, SEEDS, cfg)
    mates = guided_sample(pixel, teacher, TARGETS[:2] + [9] * (len(TARGETS) - 2), SEEDS[:2] + [77] * (len(SEEDS) - 2), cfg)
    assert torch.equal(full.images, again.images) and torch.equal(full.images[:2], mates.images[:2])
    gentle = sharp_teacher(scale=1)
    full = guided_sample(pixel, gentle, TARGETS, SEEDS, cfg)
    part = guided_sample(pixel, gentle, TARGETS[2:5], SEEDS[2:5], cfg)
    assert torch.allclose(full.images[2:5], part.images, atol=1e-4)


def test_candidate_starts_keep_the_start_whose_preview_the_teacher_prefers(pixel):
    """Each sample starts from whichever of its candidate seeds made the rough preview the
    teacher rated most likely the target; with no lever drawing noise of its own, the sample
    is then the one-start run of that seed."""
    teacher, k = sharp_teacher(), 4
    cfg = GuidanceConfig(steps=6, strength=0.5, candidates=k, preview_steps=3, blur=0.0)
    targets = torch.tensor(TARGETS)
    conditioning = lambda y: pixel.conditioning(y, teacher.class_names)  # noqa: E731
    tried = [candidate_seeds(s, k) for s in SEEDS]
    probs = preview_probs(pixel, teacher, targets.repeat_interleave(k), [c for row in tried for c in row], 3,
                          conditioning).view(len(SEEDS), k)
    chosen = choose_starts(pixel, teacher, targets, SEEDS, k, 3, conditioning)
    assert chosen == [row[j] for row, j in zip(tried, probs.argmax(1).tolist())]
    assert any(c != s for c, s in zip(chosen, SEEDS))  # not always the seed's own noise
    made = guided_sample(pixel, teacher, TARGETS, SEEDS, cfg).images
    one_start = guided_sample(pixel, teacher, TARGETS, chosen, replace(cfg, candidates=1)).images
    assert torch.equal(made, one_start)
    assert candidate_seeds(5, 3)[0] == 5 and len(set(candidate_seeds(5, 3) + candidate_seeds(6, 3))) == 6


def test_a_confidence_keeps_the_first_candidate_whose_preview_reaches_it(pixel):
    """With confidence < 1 each sample keeps its first candidate that reaches it (the most
    likely one when none does), so the starts do not all gather on the most typical image."""
    teacher, k = sharp_teacher(), 4
    targets = torch.tensor(TARGETS)
    conditioning = lambda y: pixel.conditioning(y, teacher.class_names)  # noqa: E731
    tried = [candidate_seeds(s, k) for s in SEEDS]
    probs = preview_probs(pixel, teacher, targets.repeat_interleave(k), [c for row in tried for c in row], 3,
                          conditioning).view(len(SEEDS), k)
    level = float(probs.median())  # some rows reach it at a candidate that is not their most likely
    chosen = choose_starts(pixel, teacher, targets, SEEDS, k, 3, conditioning, confidence=level)
    expected = [row[next((j for j in range(k) if p[j] >= level), int(p.argmax()))] for row, p in zip(tried, probs)]
    assert chosen == expected
    assert chosen != choose_starts(pixel, teacher, targets, SEEDS, k, 3, conditioning)


def test_candidates_change_nothing_without_guidance(pixel):
    teacher = sharp_teacher()
    plain = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=4, strength=0.0)).images
    assert torch.equal(plain, guided_sample(pixel, teacher, TARGETS, SEEDS,
                                            GuidanceConfig(steps=4, strength=0.0, candidates=8)).images)


def test_empty_window_equals_unguided(pixel):
    teacher = sharp_teacher()
    base = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=5, strength=0.0))
    closed = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=5, strength=1.0, window=(0.4, 0.4)))
    late = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=5, strength=1.0, window=(0.6, 1.0)))
    assert torch.equal(base.images, closed.images) and not torch.equal(base.images, late.images)


def test_previews_and_cancellation(pixel):
    seen = []
    guided_sample(pixel, sharp_teacher(), [0, 1], [0, 1], GuidanceConfig(steps=6, strength=0.3),
                  on_preview=lambda step, total, img: seen.append((step, total, tuple(img.shape))), preview_every=2)
    assert [s for s, _, _ in seen] == [1, 3, 5, 6] and seen[0][1:] == (6, (2, 1, 16, 16))
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        guided_sample(pixel, sharp_teacher(), [0], [0], GuidanceConfig(steps=6), should_stop=lambda: next(calls) >= 2)


def test_bad_settings_are_refused(pixel):
    with pytest.raises(DfkdError, match="window"):
        guided_sample(pixel, sharp_teacher(), [0], [0], GuidanceConfig(window=(0.8, 0.2)))
    with pytest.raises(DfkdError, match="0..9"):
        guided_sample(pixel, sharp_teacher(), [12], [0], GuidanceConfig())
    with pytest.raises(DfkdError, match="every must be >= 1"):
        guided_sample(pixel, sharp_teacher(), [0], [0], GuidanceConfig(every=0))
    with pytest.raises(DfkdError, match="every_from must be >= 0 and <= 1"):
        guided_sample(pixel, sharp_teacher(), [0], [0], GuidanceConfig(every_from=1.5))
    with pytest.raises(DfkdError, match="eta must be >= 0 and <= 1"):
        guided_sample(pixel, sharp_teacher(), [0], [0], GuidanceConfig(eta=2.0))
    with pytest.raises(DfkdError, match="one seed per target"):
        guided_sample(pixel, sharp_teacher(), [0, 1], [0], GuidanceConfig())
    with pytest.raises(DfkdError, match="candidates must be >= 1"):
        guided_sample(pixel, sharp_teacher(), [0], [0], GuidanceConfig(candidates=0))
    with pytest.raises(DfkdError, match="CutMix steps"):
        GuidanceConfig(steps=25, cutmix=CutMixConfig(at_steps=[25])).validate()
    with pytest.raises(DfkdError, match="fresh noise"):
        guided_sample(pixel, sharp_teacher(), [0], [0], GuidanceConfig(candidates=2), init=torch.zeros(1, 1, 16, 16),
                      start_step=3)


def test_latent_cutmix_boxes_and_records():
    z = torch.arange(6.0).view(6, 1, 1, 1).expand(6, 2, 10, 10).clone()
    targets = [0, 1, 0, 2, 1, 0]
    rngs = [np.random.default_rng([i, 1]) for i in range(6)]
    mixed, recs = latent_cutmix(z, targets, alpha=1.0, rngs=rngs, step=3)
    assert recs[3] is None and torch.equal(mixed[3], z[3])  # class 2 has no partner
    for i, rec in enumerate(recs):
        if rec is None:
            continue
        j, (top, left, bottom, right) = rec["partner"], rec["box"]
        assert targets[j] == targets[i] and j != i and rec["step"] == 3
        assert 0 <= top < bottom <= 10 and 0 <= left < right <= 10
        inside = mixed[i, :, top:bottom, left:right]
        assert torch.all(inside == j)
        assert (mixed[i] == i).sum() == 2 * (100 - (bottom - top) * (right - left))
        assert abs(rec["area"] - (1 - rec["lambda"])) < 0.2  # side ∝ sqrt(1 - lambda), rounded to the grid


def test_cutmix_inside_the_sampler_keeps_labels_and_records_partners(pixel):
    out = guided_sample(pixel, sharp_teacher(), [3, 3, 5, 5], [10, 11, 12, 13],
                        GuidanceConfig(steps=6, strength=0.3, cutmix=CutMixConfig(at_steps=[2, 4], alpha=1.0)))
    assert out.targets.tolist() == [3, 3, 5, 5]
    assert [r["partner"] for r in out.records[0]] == [11, 11] and [r["step"] for r in out.records[2]] == [2, 4]
