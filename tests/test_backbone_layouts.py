"""Incomplete diffusers layouts and mismatched settings are refused with a message naming
what is missing, before any image is made (never a silent default)."""

import shutil

import pytest
import torch
from tiny_models import tiny_pixel_prior, tiny_stable_diffusion

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone
from dfkd_core.methods.diffdfkd.config import CutMixConfig, GuidanceConfig
from dfkd_core.methods.diffdfkd.sampler import guided_sample
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.model import Teacher


def _teacher(channels, num_classes=10):
    torch.manual_seed(0)
    return Teacher(build_model("small_cnn", num_classes, channels), num_classes, channels, 32,
                   [0.5] * channels, [0.25] * channels)


def test_pipeline_folder_without_scheduler_is_refused(tmp_path):
    prior = tiny_pixel_prior(tmp_path / "prior")
    shutil.rmtree(prior / "scheduler")
    with pytest.raises(DfkdError, match=r"no scheduler.*scheduler/scheduler_config.json"):
        load_backbone(prior, local_files_only=True)


def test_bare_unet_folder_without_scheduler_config_is_refused(tmp_path):
    """The google/ddpm-cifar10-32 layout: config.json and scheduler_config.json side by side."""
    prior = tiny_pixel_prior(tmp_path / "prior")
    bare = tmp_path / "bare"
    shutil.copytree(prior / "unet", bare)
    with pytest.raises(DfkdError, match="no scheduler.*scheduler_config.json"):
        load_backbone(bare, local_files_only=True)
    shutil.copy(prior / "scheduler" / "scheduler_config.json", bare / "scheduler_config.json")
    assert load_backbone(bare, local_files_only=True).latent_shape() == (1, 16, 16)


@pytest.mark.parametrize("part,named", [("vae", "VAE"), ("text_encoder", "text encoder"), ("tokenizer", "tokenizer"),
                                        ("unet", "UNet")])
def test_stable_diffusion_folder_without_a_component_names_it(tmp_path, part, named):
    sd = tiny_stable_diffusion(tmp_path / "sd")
    shutil.rmtree(sd / part)
    with pytest.raises(DfkdError, match=rf"without {part}/ \(the {named}") as e:
        load_backbone(sd, local_files_only=True)
    assert str(sd) in str(e.value)


def test_grey_backbone_with_an_rgb_teacher_is_refused_before_sampling(tmp_path):
    grey = load_backbone(tiny_pixel_prior(tmp_path / "prior", channels=1), local_files_only=True)
    calls = []
    grey.unet.register_forward_hook(lambda *_: calls.append(1))
    with pytest.raises(DfkdError, match="1-channel.*3-channel"):
        guided_sample(grey, _teacher(3), [0], [0], GuidanceConfig(steps=2))
    assert not calls  # refused before the first denoiser pass
    # the other way round is fine: colour images are turned to grey (luma) for a grey teacher
    rgb = load_backbone(tiny_pixel_prior(tmp_path / "rgb", channels=3), local_files_only=True)
    assert guided_sample(rgb, _teacher(1), [0], [0], GuidanceConfig(steps=2)).images.shape == (1, 3, 16, 16)


@pytest.mark.parametrize("at_steps", [[25], [3, 40], [-1]])
def test_cutmix_steps_outside_the_trajectory_are_refused(at_steps):
    cfg = GuidanceConfig(steps=25, candidates=1, cutmix=CutMixConfig(at_steps=at_steps))
    with pytest.raises(DfkdError, match=r"CutMix steps .* must lie in 0\.\.24"):
        cfg.validate()
    GuidanceConfig(steps=25, candidates=1, cutmix=CutMixConfig(at_steps=[0, 24])).validate()


def test_cutmix_alpha_must_be_positive():
    with pytest.raises(DfkdError, match="alpha"):
        GuidanceConfig(steps=25, candidates=1, cutmix=CutMixConfig(at_steps=[3], alpha=0.0)).validate()


def test_cutmix_before_an_sdedit_start_is_refused(tmp_path):
    pixel = load_backbone(tiny_pixel_prior(tmp_path / "prior"), local_files_only=True)
    cfg = GuidanceConfig(steps=6, candidates=1, cutmix=CutMixConfig(at_steps=[1, 4]))
    with pytest.raises(DfkdError, match=r"CutMix steps \[1, 4\] come before step 3"):
        guided_sample(pixel, _teacher(1), [0, 0], [0, 1], cfg, init=torch.zeros(2, 1, 16, 16), start_step=3)
