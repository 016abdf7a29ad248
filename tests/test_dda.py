"""DDA variations: SDEdit strength, seeds per (source, k), resuming, every backbone kind
(pixel, Stable Diffusion, image-variation pipeline), `dfkd augment`, and the augment and
filter pipeline stages."""

import pytest
import torch
from dda_kit import NAMES, small_teacher, store_with_variations, teacher_card
from tiny_models import tiny_image_variation, tiny_pixel_prior, tiny_stable_diffusion

from dfkd_core import DfkdError
from dfkd_core.cli import main
from dfkd_core.diffusion import load_backbone
from dfkd_core.diffusion.variation import ImageVariationBackbone
from dfkd_core.errors import Cancelled
from dfkd_core.methods.dda.config import DDAConfig
from dfkd_core.methods.dda.variations import augment_store, fit_to_backbone, make_variations, start_step
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.methods.diffdfkd.sampler import guided_sample
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.store import SampleStore


@pytest.fixture(scope="module")
def prior_dir(tmp_path_factory):
    return tiny_pixel_prior(tmp_path_factory.mktemp("prior"))


@pytest.fixture(scope="module")
def pixel(prior_dir):
    return load_backbone(prior_dir, local_files_only=True)


@pytest.fixture
def sources(tmp_path):
    """Only the sources of the kit's store (3 classes x 2)."""
    kit = store_with_variations(tmp_path / "kit")
    return kit.copy_to(kit.manifest().query("variation == 0")["id"], tmp_path / "store")


def _mse(a, b):
    return ((a - b) ** 2).mean((1, 2, 3))


def test_strength_near_zero_stays_close_and_one_does_not(pixel, sources):
    teacher, ids = small_teacher(), ["c000-s0", "c001-s1", "c002-s0"]
    src = sources.images(ids)
    near = make_variations(pixel, teacher, src, [0, 1, 2], ids, [1, 1, 1], DDAConfig(strength=0.02))
    far = make_variations(pixel, teacher, src, [0, 1, 2], ids, [1, 1, 1], DDAConfig(strength=1.0))
    assert start_step(0.02, 25) == 24 and start_step(1.0, 25) == 0
    assert (_mse(near.images, src) < 1e-3).all()
    assert (_mse(far.images, src) > 0.02).all()
    # Each (source, k) has its own seed: the same variation whatever the batch; k differs from k'.
    alone = make_variations(pixel, teacher, src[1:2], [1], ids[1:2], [1], DDAConfig(strength=1.0))
    assert torch.allclose(alone.images[0], far.images[1], atol=1e-4)
    other_k = make_variations(pixel, teacher, src[1:2], [1], ids[1:2], [2], DDAConfig(strength=1.0))
    assert _mse(other_k.images, alone.images).item() > 1e-3


def test_teacher_guidance_while_denoising_raises_the_target_probability(pixel, sources):
    teacher, ids = small_teacher(), sources.manifest()["id"].tolist()
    src, targets = sources.images(ids), sources.manifest()["target"].tolist()
    plain = make_variations(pixel, teacher, src, targets, ids, [1] * 6, DDAConfig(strength=0.8, steps=10))
    guided = make_variations(pixel, teacher, src, targets, ids, [1] * 6, DDAConfig(strength=0.8, steps=10, guidance=0.5))
    assert guided.target_prob.mean() > plain.target_prob.mean() + 0.05


def test_augment_store_resumes_and_refuses_other_settings(pixel, sources):
    teacher, cfg = small_teacher(), DDAConfig(variations=2, strength=0.5, steps=6, batch_size=4)
    calls = iter(range(1000))
    with pytest.raises(Cancelled):  # stopped inside the second batch
        augment_store(sources, pixel, teacher, cfg, should_stop=lambda: next(calls) >= 4)
    assert len(sources.manifest()) == 6 + 4
    assert augment_store(sources, pixel, teacher, cfg) == 8
    df = sources.manifest()
    assert len(df) == 18 and df["id"].is_unique and set(df.query("variation > 0")["method"]) == {"dda"}
    assert sorted(df.query("variation == 2")["id"]) == sorted(f"{i}-v2" for i in df.query("variation == 0")["id"])
    assert (df.query("variation > 0")["strength"] == 0.5).all()
    assert (df.query("variation > 0")["source_id"] + df.query("variation > 0")["id"].str[-3:]
            == df.query("variation > 0")["id"]).all()
    assert augment_store(sources, pixel, teacher, cfg) == 0  # nothing left to do
    with pytest.raises(DfkdError, match="other DDA settings"):
        augment_store(sources, pixel, teacher, DDAConfig(variations=2, strength=0.9, steps=6))
    assert augment_store(sources, pixel, teacher, DDAConfig(variations=1, strength=0.9, steps=6), overwrite=True) == 6
    assert sorted(sources.manifest().query("variation > 0")["strength"]) == [0.5] * 6 + [0.9] * 6
    with pytest.raises(DfkdError, match="no source samples"):
        augment_store(sources, pixel, teacher, cfg, source_ids=["c000-s0-v1"])
    with pytest.raises(DfkdError, match="strength"):
        DDAConfig(strength=0.0).validate()


def test_manifests_without_the_dda_columns_read_with_defaults(tmp_path):
    store = store_with_variations(tmp_path / "s")
    old = store.manifest().query("variation == 0").drop(columns=["source_id", "variation", "strength"])
    old.to_csv(store.manifest_path, index=False)
    df = SampleStore(store.root).manifest()
    assert (df["source_id"] == df["id"]).all() and (df["variation"] == 0).all() and (df["strength"] == 0).all()
    assert len(SampleStore(store.root).existing_keys()) == 6


def test_stable_diffusion_latents_and_sources_of_another_size(tmp_path, sources):
    sd = load_backbone(tiny_stable_diffusion(tmp_path / "sd"), local_files_only=True, guidance_scale=1.0)
    src = sources.images(["c000-s0", "c001-s0"])  # 1 x 16 x 16 grey -> 3 x 16 x 16 for the VAE
    teacher = small_teacher()
    near = make_variations(sd, teacher, src, [0, 1], ["c000-s0", "c001-s0"], [1, 1], DDAConfig(strength=0.02))
    far = make_variations(sd, teacher, src, [0, 1], ["c000-s0", "c001-s0"], [1, 1], DDAConfig(strength=1.0))
    with torch.no_grad():  # the tiny random VAE is lossy: compare with the round trip through it
        round_trip = sd.decode(sd.encode(fit_to_backbone(src, sd)))
    assert near.images.shape == (2, 3, 16, 16)
    assert (_mse(near.images, round_trip) < 0.3 * _mse(far.images, round_trip)).all()
    big = fit_to_backbone(torch.rand(1, 3, 40, 40), sd)
    assert big.shape == (1, 3, 16, 16)


def test_image_variation_pipeline_is_conditioned_on_the_source(tmp_path, sources):
    backbone = load_backbone(tiny_image_variation(tmp_path / "iv"), local_files_only=True)
    assert isinstance(backbone, ImageVariationBackbone) and backbone.latent_shape() == (4, 8, 8)
    teacher, ids = small_teacher(), ["c000-s0", "c002-s1"]
    src = sources.images(ids)
    varied = make_variations(backbone, teacher, src, [0, 2], ids, [1, 1], DDAConfig(strength=1.0, steps=6))
    # The same seeds and start, with the null (unconditional) embedding instead of the sources' CLIP embeddings:
    seeds = [int(s) for s in varied.seeds]
    with torch.no_grad():
        init = backbone.encode(fit_to_backbone(src, backbone))
    null = guided_sample(backbone, teacher, [0, 2], seeds, GuidanceConfig(steps=6, strength=0.0), init=init)
    assert varied.images.shape == (2, 3, 16, 16)
    assert _mse(varied.images, null.images).min() > 1e-6
    with pytest.raises(ValueError, match="init latents"):
        guided_sample(backbone, teacher, [0], [0], GuidanceConfig(steps=6), start_step=2)


def test_cli_augment_resumes_and_writes_into_the_store(prior_dir, sources, tmp_path, capsys):
    card = teacher_card(tmp_path)
    args = ["augment", str(sources.root), "--teacher", card, "--backbone", str(prior_dir), "--variations", "2",
            "--strength", "0.3", "--steps", "6", "--device", "cpu", "--ids", "c000-s0", "c001-s1"]
    assert main(args) == 0
    assert "4 new variations; 10 samples" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 new variations; 10 samples" in capsys.readouterr().out
    assert main([*args[:2], "--out", str(tmp_path / "copy"), *args[2:]]) == 0
    assert len(SampleStore(tmp_path / "copy").manifest()) == 6  # its two sources and their variations
    assert main([*args[:6], "--strength", "0"]) == 2
    assert "--strength: must be > 0 and <= 1, got 0.0" in capsys.readouterr().err


def test_pipeline_generate_augment_filter_resumes(prior_dir, tmp_path):
    card = teacher_card(tmp_path)
    cfg = {"name": "dda", "teacher": card, "device": "cpu", "stages": [
        {"generate": {"backbone": str(prior_dir), "classes": [0, 1], "per_class": 2, "guidance": {"steps": 4}}},
        {"augment": {"backbone": str(prior_dir), "variations": 2, "strength": 0.5, "steps": 4, "batch_size": 4}},
        {"filter": {"omega": 1.0, "tau": 0.0}}]}
    polls = iter(range(1000))
    stopped = run_pipeline(cfg, tmp_path / "run", should_stop=lambda: next(polls) > 6, log=lambda m: None)
    assert "kept" not in stopped.results
    ctx = run_pipeline(cfg, tmp_path / "run", log=lambda m: None)
    assert ctx.results["variations"] == 8 and ctx.results["kept"] == 4 and ctx.results["dropped"] == 8
    assert ctx.store.root == tmp_path / "run" / "03-filter"
    assert sorted(ctx.store.manifest()["variation"]) == [0, 0, 0, 0]
    assert (tmp_path / "run" / "03-filter" / "scores.csv").is_file()
    assert NAMES[:2] == sorted(set(ctx.store.manifest()["class_name"]))
