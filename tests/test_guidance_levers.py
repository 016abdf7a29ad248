"""The levers against adversarial textures (blur, randomized smoothing, recurrence) do what
they claim on tiny models, leave unguided sampling untouched, are checked; the sweep makes
one judged grid row per setting over the same seeds."""

import math

import numpy as np
import pytest
import torch
from test_guidance import sharp_teacher
from tiny_models import tiny_pixel_prior

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone
from dfkd_core.judges import JudgePanel, RealReference, ReferenceSettings
from dfkd_core.judges.diversity import class_spreads
from dfkd_core.judges.frechet import gaussian_stats
from dfkd_core.judges.knn import PixelKNN
from dfkd_core.judges.linear import PCALinear
from dfkd_core.judges.network import NetworkJudge
from dfkd_core.judges.pixels import PixelPCA, as_vectors
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.methods.diffdfkd.levers import augmented_copies, gaussian_blur, lever_generators, renoise
from dfkd_core.methods.diffdfkd.sampler import guided_sample
from dfkd_core.methods.diffdfkd.sweep import FIGURES_WIDTH, GAP, LABEL_WIDTH, sweep

TARGETS, SEEDS = [0, 1, 2, 3], [0, 1, 2, 3]


@pytest.fixture(scope="module")
def pixel(tmp_path_factory):
    return load_backbone(tiny_pixel_prior(tmp_path_factory.mktemp("prior")), local_files_only=True)


def high_frequency_share(x: torch.Tensor) -> float:
    """Share of the energy of (N, C, H, W) above a quarter of the Nyquist frequency."""
    power = torch.fft.fft2(x).abs().pow(2)
    f = torch.fft.fftfreq(x.shape[-1]).abs()
    high = (f.view(-1, 1) > 0.125) | (f.view(1, -1) > 0.125)
    return float(power[..., high].sum() / power.sum())


def test_blur_makes_the_gradient_lower_frequency_and_keeps_flat_images():
    noise = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert high_frequency_share(gaussian_blur(noise, 1.5)) < 0.2 * high_frequency_share(noise)
    assert torch.allclose(gaussian_blur(torch.full((1, 3, 8, 8), 0.7), 2.0), torch.full((1, 3, 8, 8), 0.7))
    assert torch.equal(gaussian_blur(noise, 0.0), noise)


def test_blurred_guidance_moves_the_image_by_lower_frequencies(pixel):
    teacher = sharp_teacher()
    base = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=10, strength=0.0))
    cfg = dict(steps=10, strength=0.5, candidates=1)
    sharp = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(**cfg)).images - base.images
    smooth = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(**cfg, blur=2.0)).images - base.images
    assert high_frequency_share(smooth) < high_frequency_share(sharp)


def test_augmented_copies_are_shifted_noised_and_drawn_per_sample():
    x = torch.rand(3, 1, 6, 6, generator=torch.Generator().manual_seed(1), requires_grad=True)
    assert augmented_copies(x, 0, 2, 0.1, None) is x
    together = augmented_copies(x, 4, 2, 0.0, lever_generators([7, 8, 9]))
    assert together.shape == (12, 1, 6, 6)
    for row in range(12):  # copy c of image i is row c * 3 + i: a roll of image i
        image = x[row % 3].detach()
        assert any(torch.equal(together[row].detach(), torch.roll(image, (dy, dx), (-2, -1)))
                   for dy in range(-2, 3) for dx in range(-2, 3))
    assert not all(torch.equal(together[i], together[i + 3]) for i in range(3))  # copies differ
    alone = [augmented_copies(x[i:i + 1], 4, 2, 0.3, lever_generators([s])) for i, s in enumerate([7, 8, 9])]
    noisy = augmented_copies(x, 4, 2, 0.3, lever_generators([7, 8, 9]))
    assert all(torch.allclose(noisy[c * 3 + i], alone[i][c]) for i in range(3) for c in range(4))
    noisy.sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, 4.0))  # every copy's gradient reaches its image


def test_renoise_follows_the_forward_process():
    z = torch.zeros(2000, 1, 2, 2)
    out = renoise(z + 1.0, 0.25, 1.0, [torch.Generator().manual_seed(i) for i in range(2000)])
    assert out.mean().item() == pytest.approx(0.5, abs=0.03)  # sqrt(0.25 / 1)
    assert out.std().item() == pytest.approx(math.sqrt(0.75), abs=0.03)


@pytest.mark.parametrize("lever", [{"recurrence": 1}, {"copies": 2, "copy_noise": 0.1},
                                   {"copies": 2, "copy_noise": 0.1, "mode": "full"}])
def test_levers_with_noise_give_the_same_sample_whatever_the_batch(pixel, lever):
    """A sample depends on its own target and seed only. Beside other batch-mates (same batch
    size) it is bit-identical. Made alone it may differ by float rounding, which kernels for
    other batch sizes and CPUs order differently: with this sharp teacher at strength 0.5 the
    first step divides z by sqrt(alpha_bar) ~ 0.006 and saturates x0, so rounding grows to
    whole pixels (seen on one CPU, not another). So the batch-size check runs where the
    trajectory is not chaotic: a gentle teacher and strength."""
    teacher = sharp_teacher()
    cfg = GuidanceConfig(steps=6, strength=0.5, candidates=1, **lever)
    batch = guided_sample(pixel, teacher, TARGETS, SEEDS, cfg).images
    other_mates = guided_sample(pixel, teacher, [TARGETS[0], 5, 6, 7], [SEEDS[0], 11, 12, 13], cfg).images
    assert torch.equal(batch[0], other_mates[0])
    plain = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=6, strength=0.5, candidates=1)).images
    assert not torch.allclose(batch, plain, atol=1e-4)  # the lever changed something
    gentle, cfg = sharp_teacher(scale=1), GuidanceConfig(steps=6, strength=0.1, candidates=1, **lever)
    batch = guided_sample(pixel, gentle, TARGETS, SEEDS, cfg).images
    alone = torch.cat([guided_sample(pixel, gentle, [t], [s], cfg).images for t, s in zip(TARGETS, SEEDS)])
    assert torch.allclose(batch, alone, atol=1e-4)


def test_recurrence_redoes_only_the_guided_steps_inside_the_window(pixel):
    teacher = sharp_teacher()
    calls = []
    pixel.unet.register_forward_hook(lambda *_: calls.append(1))
    try:
        guided_sample(pixel, teacher, [0], [0], GuidanceConfig(steps=10, strength=0.5, candidates=1, window=(0, 0.4),
                                                               recurrence=2))
    finally:
        pixel.unet._forward_hooks.clear()
    assert len(calls) == 10 + 2 * 4  # 4 guided steps, each done three times


def test_strength_zero_ignores_every_lever(pixel):
    teacher = sharp_teacher()
    plain = guided_sample(pixel, teacher, TARGETS, SEEDS, GuidanceConfig(steps=6, strength=0.0)).images
    levers = GuidanceConfig(steps=6, strength=0.0, blur=2.0, copies=3, copy_noise=0.5, recurrence=2, candidates=4)
    assert torch.equal(guided_sample(pixel, teacher, TARGETS, SEEDS, levers).images, plain)


@pytest.mark.parametrize("bad", [{"blur": float("nan")}, {"blur": -1}, {"copies": -1}, {"copy_noise": -0.5},
                                 {"recurrence": 11}, {"copies": 65}, {"shift": 100}, {"preview_steps": 0}])
def test_lever_settings_are_checked(bad):
    with pytest.raises(DfkdError):
        GuidanceConfig(**bad).validate()


def tiny_panel(teacher, classes=3, size=16) -> JudgePanel:
    """Texture-proof judges fit on small in-memory 'real' images: class c is a bright band at row c."""
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(60, 1, size, size, generator=g) * 60).to(torch.uint8)
    labels = torch.arange(60) % classes
    for i, c in enumerate(labels.tolist()):
        images[i, 0, 4 * c:4 * c + 4] = 220
    pca = PixelPCA.fit(as_vectors(images), 8)
    linear = PCALinear.fit(pca, images, labels, classes, iterations=50)
    knn = PixelKNN.fit(images, labels, 3, classes)
    ref = RealReference(ReferenceSettings(dataset="bands"), [f"band {c}" for c in range(classes)], (1, size, size),
                        knn, linear, gaussian_stats(pca.project(as_vectors(images))),
                        class_spreads(images, labels, classes), {"pixel_knn": 1.0, "pca_linear": 1.0}, 60, 60)
    return JudgePanel(ref, {"teacher": NetworkJudge("teacher", teacher)})


def test_sweep_makes_one_judged_row_per_setting_over_the_same_seeds(pixel):
    teacher = sharp_teacher(num_classes=3)
    panel = tiny_panel(teacher)
    rows = [("unguided", GuidanceConfig(steps=4, strength=0.0)),
            ("0.5", GuidanceConfig(steps=4, strength=0.5, candidates=1, blur=1.0))]
    image, figures = sweep(pixel, teacher, panel, rows, seeds_per_class=2, first_seed=5, show=2, scale=2)
    cols, cell = 3 * 2, 16 * 2
    assert image.size == (LABEL_WIDTH + cols * (cell + GAP) + FIGURES_WIDTH, 2 * (cell + GAP))
    assert [f["label"] for f in figures] == ["unguided", "0.5"]
    for f in figures:
        assert f["samples"] == 6 and set(f["judges"]) == {"teacher", "pixel_knn", "pca_linear"}
        assert 0 <= f["texture_proof_mean"] <= 1 and f["frechet"] >= 0 and f["seconds"] > 0
    # the unguided row is the prior's own samples of seeds 5, 6 in every class, as guided_sample makes them
    again = guided_sample(pixel, teacher, [0, 0, 1, 1, 2, 2], [5, 6] * 3, rows[0][1]).images
    shown = torch.from_numpy(np.asarray(image.crop((LABEL_WIDTH, 0, LABEL_WIDTH + cell, cell)).convert("L"))).flatten()
    expect = (again[0, 0].clamp(0, 1) * 255).round().repeat_interleave(2, 0).repeat_interleave(2, 1).flatten()
    assert torch.equal(shown.float(), expect)


def test_sweep_refuses_bad_plans_before_sampling(pixel):
    teacher = sharp_teacher(num_classes=3)
    panel = tiny_panel(teacher)
    with pytest.raises(DfkdError, match="rows"):
        sweep(pixel, teacher, panel, [], seeds_per_class=1)
    with pytest.raises(DfkdError, match="show"):
        sweep(pixel, teacher, panel, [("a", GuidanceConfig(steps=2))], seeds_per_class=1, show=2)
    with pytest.raises(DfkdError, match="recurrence"):
        sweep(pixel, teacher, panel, [("a", GuidanceConfig(steps=2, recurrence=99))], seeds_per_class=1)


def test_sweep_cli_rows_are_read_and_checked():
    from dfkd_core.cli.sweep import settings_rows
    rows = settings_rows({"steps": 5}, [0, 0.1], ['{"blur": 1.5, "window": [0, 0.5]}'])
    assert [label for label, _ in rows] == ["unguided", "strength 0.1", "blur 1.5, window [0, 0.5]"]
    assert rows[2][1].blur == 1.5 and rows[2][1].window == (0, 0.5) and rows[2][1].steps == 5
    for bad in ['{"blurr": 1}', "not json", "[1]"]:
        with pytest.raises(DfkdError, match="--row"):
            settings_rows({}, None, [bad])
    with pytest.raises(DfkdError, match="rows of the sweep"):
        settings_rows({}, None, None)


def test_a_long_row_label_is_wrapped_after_its_commas_to_fit_the_label_column():
    from PIL import ImageFont

    from dfkd_core.methods.diffdfkd.sweep import LABEL_WIDTH, wrapped
    font = ImageFont.load_default(size=14)
    label = "candidates 1, strength 0.08, window [0, 1]"
    assert font.getlength(label) > LABEL_WIDTH - 10  # the case: one line would run over the images
    lines = wrapped(label, font, LABEL_WIDTH - 10).split("\n")
    assert len(lines) > 1 and all(font.getlength(line) <= LABEL_WIDTH - 10 for line in lines)
    assert ", ".join(line.rstrip(",") for line in lines) == label
    assert wrapped("strength 0.08", font, LABEL_WIDTH - 10) == "strength 0.08"
