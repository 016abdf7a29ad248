"""Prior training: the saved prior loads through load_backbone, and a killed
run resumes to the same weights as an uninterrupted one."""

import torch

from dfkd_core.data import ImageDataset
from dfkd_core.data.shapes import draw_shapes
from dfkd_core.diffusion import PixelBackbone, load_backbone
from dfkd_core.diffusion.train import PriorConfig, save_prior, train_prior

CFG = dict(batch_size=8, lr=2e-3, channels=(8, 16), save_every=3)


def _pool():
    images = torch.from_numpy(draw_shapes(32, seed=1, size=16)).unsqueeze(1)
    return ImageDataset(images, torch.zeros(32, dtype=torch.long), ["shapes"])


def test_drawn_shapes_are_deterministic_and_varied():
    a, b = draw_shapes(20, seed=3), draw_shapes(20, seed=3)
    assert (a == b).all() and a.shape == (20, 28, 28) and len({x.tobytes() for x in a}) == 20
    assert (a.reshape(20, -1).max(1) > 100).all()


def test_resume_matches_an_uninterrupted_run_and_saves_a_loadable_prior(tmp_path):
    full, summary = train_prior(_pool(), PriorConfig(steps=9, **CFG), tmp_path / "a")
    stop_after = iter(range(100))
    train_prior(_pool(), PriorConfig(steps=9, **CFG), tmp_path / "b", should_stop=lambda: next(stop_after) >= 6)
    resumed, _ = train_prior(_pool(), PriorConfig(steps=9, **CFG), tmp_path / "b")
    for (k, v), w in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(v, w, atol=1e-6), k
    assert summary["steps_done"] == 9
    save_prior(full, tmp_path / "prior")
    backbone = load_backbone(tmp_path / "prior", local_files_only=True)
    assert isinstance(backbone, PixelBackbone) and backbone.latent_shape() == (1, 16, 16)
    assert list((tmp_path / "prior" / "unet").glob("*.safetensors"))
