"""The demo prior's layout (LDMPipeline: an autoencoder and a UNet on its latents): diffusers
alone samples a folder saved this way, the engine loads it as a latent backbone that guidance
runs through, and its training resumes after a stop to the same weights."""

import torch
from tiny_models import tiny_latent_prior

from dfkd_core.diffusion import LdmBackbone, load_backbone
from dfkd_core.diffusion.prior import LatentPriorConfig, train_latent_prior
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.methods.diffdfkd.sampler import guided_sample
from dfkd_core.models.zoo import build_model
from dfkd_core.teacher.model import Teacher


def _teacher():
    torch.manual_seed(0)
    return Teacher(build_model("small_cnn", 10, 1), 10, 1, 16, [0.5], [0.25])


def test_diffusers_alone_samples_the_saved_prior(tmp_path):
    from diffusers import DiffusionPipeline
    pipe = DiffusionPipeline.from_pretrained(str(tiny_latent_prior(tmp_path / "prior")))
    images = pipe(batch_size=2, num_inference_steps=3, generator=torch.Generator().manual_seed(0),
                  output_type="np").images
    assert images.shape == (2, 16, 16, 1) and images.min() >= 0 and images.max() <= 1


def test_the_engine_loads_it_as_a_latent_backbone_and_guides_through_the_decoder(tmp_path):
    backbone = load_backbone(tiny_latent_prior(tmp_path / "prior"), local_files_only=True)
    assert isinstance(backbone, LdmBackbone) and backbone.is_latent
    assert backbone.latent_shape() == (4, 4, 4) and backbone.image_size == 16 and backbone.image_channels == 1
    x = torch.rand(3, 1, 16, 16)
    assert backbone.decode(backbone.encode(x)).shape == (3, 1, 16, 16)
    teacher = _teacher()
    plain = guided_sample(backbone, teacher, [0, 1], [0, 1], GuidanceConfig(steps=4, strength=0.0))
    guided = guided_sample(backbone, teacher, [0, 1], [0, 1], GuidanceConfig(steps=4, strength=2.0, candidates=1))
    assert plain.images.shape == (2, 1, 16, 16) and not torch.allclose(plain.images, guided.images)


def test_a_stopped_training_resumes_to_the_same_weights(tmp_path):
    images = (torch.rand(40, 1, 16, 16) * 255).to(torch.uint8)
    cfg = LatentPriorConfig(ae_steps=4, ae_batch_size=4, steps=6, batch_size=4, ae_channels=(8, 8, 8),
                            channels=(32, 32, 32), layers_per_block=1, attention=False, save_every=2, warmup=2)
    _, full, done = train_latent_prior(images, cfg, tmp_path / "a")
    assert done["done"]
    calls = iter(range(100))
    _, _, stopped = train_latent_prior(images, cfg, tmp_path / "b", should_stop=lambda: next(calls) == 7)
    assert not stopped["done"]
    ae, resumed, done = train_latent_prior(images, cfg, tmp_path / "b")
    assert done["done"] and done["denoiser"]["steps"] == 6
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert ae.config.scaling_factor == done["scaling_factor"] > 0
