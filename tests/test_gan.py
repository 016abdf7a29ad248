"""HiDFD: the GAN's losses, category frequency smoothing, training (teacher CE falls;
resume: test_gan_resume.py), collection, the pipeline stage and the CLI — on a toy task
with a small teacher."""

import json
import zipfile

import pytest
import torch
from conftest import needs_fmnist
from gan_toy import SIZE, save_teacher_card, teacher_labelled, toy_teacher, write_pngs

from dfkd_core import DfkdError
from dfkd_core.data.uploads import read_zip
from dfkd_core.methods.base import balanced_plan
from dfkd_core.methods.hidfd.collect import class_frequencies, collect
from dfkd_core.methods.hidfd.config import GANConfig
from dfkd_core.methods.hidfd.losses import discriminator_loss, generator_loss
from dfkd_core.methods.hidfd.models import Discriminator, DiscriminatorSpec, Generator, GeneratorSpec, standing_stats
from dfkd_core.methods.hidfd.sample import generate, load_generator, verdict_summary
from dfkd_core.methods.hidfd.smoothing import FrequencySmoother
from dfkd_core.methods.hidfd.train import train_gan
from dfkd_core.teacher.model import find_head

TINY = {"batch_size": 16, "g_ch": 8, "d_ch": 8, "z_dim": 16, "real_bank": 2, "log_every": 1,
        "checkpoint_every": 1000}


class ZeroTrunk(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.channels = channels

    def forward(self, x):
        return torch.zeros(len(x), self.channels, 1, 1)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models are tiny: a second thread only adds synchronisation (slower on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def teacher():
    return toy_teacher()


@pytest.fixture(scope="module")
def real(teacher):
    return teacher_labelled(teacher)


def _ce_of(generator, teacher, n=200):
    standing_stats(generator, batches=2, batch_size=64, generator_rng=torch.Generator().manual_seed(0))
    keys = balanced_plan(teacher.num_classes, n)
    return verdict_summary(generate(generator, teacher, [k.target for k in keys], [k.seed for k in keys]))


def test_feature_integration_branch_learns_and_passes_gradient_to_the_generator(teacher, real):
    torch.manual_seed(0)
    d = Discriminator(DiscriminatorSpec(4, 1, ch=8, teacher_dim=find_head(teacher.model).in_features))
    g = Generator(GeneratorSpec(4, 1, SIZE, z_dim=16, ch=8))
    x = real.images[:8].float() / 255
    y = torch.arange(8) % 4
    fake = g(torch.randn(8, 16), y)
    with torch.no_grad():
        feats_r, feats_f = teacher.features(x), teacher.features(fake)
    loss, _ = discriminator_loss(d, x, real.labels[:8], feats_r, fake.detach(), y, feats_f, 4, adc=1.0)
    loss.backward()
    branch_grads = [p.grad for p in d.branch.parameters()]
    assert all(gr is not None and gr.abs().sum() > 0 for gr in branch_grads)
    # The generator's loss reaches its images through the teacher's features (D's branch): with D's
    # image trunk replaced by constant zeros and no teacher CE, the image still gets a gradient.
    d.blocks = ZeroTrunk(2 * 8)
    image = fake.detach().requires_grad_(True)
    loss_g, parts, _, _ = generator_loss(d, teacher, image, y, torch.ones(4), adc=1.0, oh=0.0, bn=0.0,
                                         feature_integration=True)
    (grad,) = torch.autograd.grad(loss_g, image)
    assert grad.abs().sum() > 0
    assert parts["teacher_ce"] > 0


def test_discriminator_without_feature_integration_has_no_branch(teacher):
    d = Discriminator(DiscriminatorSpec(4, 1, ch=8, teacher_dim=0))
    assert d.branch is None
    adv, cls = d(torch.rand(3, 1, SIZE, SIZE))
    assert adv.shape == (3,) and cls.shape == (3, 8)


def test_smoothing_weights_move_to_rare_classes_every_step():
    s = FrequencySmoother(4, beta=0.99, decay=0.9, batch_size=32)
    assert torch.allclose(s.weights(), torch.ones(4))
    previous = s.weights()
    for _ in range(5):
        w = s.update(torch.tensor([0] * 24 + [1] * 6 + [2] * 2))  # class 3 never predicted
        assert not torch.allclose(w, previous)
        assert w[3] > w[2] > w[1] > w[0]
        assert w.mean().item() == pytest.approx(1.0, abs=1e-5)
        previous = w
    # balanced predictions bring the weights back towards uniform
    for _ in range(60):
        w = s.update(torch.arange(32) % 4)
    assert (w.max() - w.min()).item() < 0.05


def test_training_updates_smoothing_every_step(teacher, real, tmp_path):
    run = train_gan(real, teacher, GANConfig(steps=4, **TINY), tmp_path)
    weights = [r["cfs_weights"] for r in run.rows]
    assert len(weights) == 4 and len(set(weights)) == 4


def test_short_run_lowers_the_teachers_ce_on_generated_samples(teacher, real, tmp_path):
    cfg = GANConfig(steps=60, lr_g=1e-3, lr_d=1e-3, oh=2.0, **{**TINY, "log_every": 20})
    torch.manual_seed(cfg.seed)
    before = _ce_of(Generator(GeneratorSpec(4, 1, SIZE, cfg.z_dim, cfg.g_ch)), teacher)
    run = train_gan(real, teacher, cfg, tmp_path)
    after = _ce_of(run.ema, teacher)
    assert after["teacher_ce"] < 0.5 * before["teacher_ce"]
    assert after["target_rate"] > before["target_rate"] + 0.3
    assert (tmp_path / "metrics.csv").exists()


def test_collect_in_total_matches_the_real_stage_and_per_class_balances(teacher, tmp_path):
    from dfkd_core.data.image_dataset import pick_indices
    folder = tmp_path / "pool"
    for c, name in enumerate(["a", "b"]):  # class subfolders: their labels are reported, not used
        write_pngs(folder / name, 20, seed=c)
    picked = collect(teacher, str(folder), count=10, seed=4)
    assert picked.indices == pick_indices(40, 10, 4)
    assert picked.true_labels is not None and len(picked.images) == 10
    per = collect(teacher, str(folder), per_class=3, seed=4)
    freq = class_frequencies(per, teacher.class_names)
    assert freq["teacher_count"].tolist() == [3, 3, 3, 3]
    assert (per.images.labels == per.probs.argmax(1)).all()


def test_zip_and_files_are_validated(teacher, tmp_path):
    pngs = write_pngs(tmp_path / "flat", 6, size=28)
    archive = tmp_path / "few.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in pngs:
            z.write(p, f"sub/../{p.name}")  # member paths are never extracted
        z.writestr("notes.txt", "not an image")
        z.writestr("__MACOSX/._img000.png", "junk")
    data = read_zip(archive)
    assert len(data) == 6 and data.images.shape[1:] == (1, 28, 28)
    picked = collect(teacher, str(archive), count=4)
    assert picked.images.images.shape[1:] == (1, SIZE, SIZE) and picked.true_labels is None
    assert len(collect(teacher, [str(archive)], count=6).images) == 6  # an uploaded zip
    with pytest.raises(DfkdError, match="not both"):
        collect(teacher, [str(archive), str(pngs[0])], count=1)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DfkdError, match="'bad.png' in .* is not an image"):
        collect(teacher, [str(tmp_path / "bad.png")], count=1)
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("readme.md", "nothing here")
    with pytest.raises(DfkdError, match="No images"):
        collect(teacher, str(tmp_path / "empty.zip"), count=1)
    with pytest.raises(DfkdError, match="holds only 6"):
        collect(teacher, str(tmp_path / "flat"), count=7)


def test_cli_runs_the_hidfd_stage_and_resumes(teacher, tmp_path, capsys):
    from dfkd_core.cli import main
    card = save_teacher_card(tmp_path / "toy-teacher")
    write_pngs(tmp_path / "few", 24, seed=5)
    out = tmp_path / "run"
    argv = ["hidfd", "--teacher", card, "--real", str(tmp_path / "few"), "--count", "20", "--samples", "12",
            "--steps", "3", "--batch-size", "8", "--g-ch", "8", "--d-ch", "8", "--real-bank", "1",
            "--device", "cpu", "--out", str(out)]
    assert main(argv) == 0
    stage = out / "01-hidfd"
    generator, gcard = load_generator(stage / "generator.json")
    assert gcard["steps"] == 3 and gcard["real_count"] == 20 and generator.spec.size == SIZE
    assert len(list((stage / "samples" / "images").glob("*.png"))) == 12
    assert len(list((stage / "real" / "images").glob("*.png"))) == 20
    assert (stage / "gan" / "grid.png").exists() and (stage / "real-classes.csv").exists()
    results = json.loads((out / "results.json").read_text())
    assert results["real_images"] == 20 and results["gan_steps"] == 3 and results["images"] == 12
    assert main(argv) == 0  # finished stages are skipped
    assert "done earlier, skipped" in capsys.readouterr().out
    assert main(["hidfd", "--out", str(tmp_path / "bad"), "--steps", "0"]) == 2
    # with a student: the distill stage trains on the samples plus the real images repeated
    student_run = tmp_path / "with-student"
    argv = [a if a != str(out) else str(student_run) for a in argv]
    assert main([*argv, "--student", "small_cnn", "--epochs", "1", "--real-repeat", "2", "--no-onnx"]) == 0
    results = json.loads((student_run / "results.json").read_text())
    assert results["train_images"] == 12 + 2 * 20 and (student_run / "02-distill" / "student.safetensors").exists()
    # plain KD unless --simkd: SimKD came out 4 points lower on the demo kit
    card = json.loads((student_run / "02-distill" / "student.json").read_text())
    assert "simkd_teacher_dim" not in card


def test_bn_loss_needs_a_teacher_with_batchnorm(real, tmp_path):
    from dfkd_core.teacher.model import Teacher
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(SIZE * SIZE, 4))
    plain = Teacher(model, 4, 1, SIZE, [0.0], [1.0])
    with pytest.raises(DfkdError, match="Set bn: 0"):
        train_gan(real, plain, GANConfig(steps=1, **TINY), tmp_path)
    run = train_gan(real, plain, GANConfig(steps=1, bn=0.0, **TINY), tmp_path)
    assert run.finished


@pytest.mark.slow
@needs_fmnist
def test_demo_teacher_gan_from_the_pool_gets_recognised(tmp_path):
    from dfkd_core.teacher.demo import demo_teacher
    teacher = demo_teacher()
    real = collect(teacher, "demo", count=60, seed=0).images
    cfg = GANConfig(steps=100, log_every=20)
    torch.manual_seed(cfg.seed)
    before = _ce_of(Generator(GeneratorSpec(10, 1, 32, cfg.z_dim, cfg.g_ch)), teacher)
    run = train_gan(real, teacher, cfg, tmp_path)
    after = _ce_of(run.ema, teacher)
    assert after["teacher_ce"] < 0.3 * before["teacher_ce"] and after["target_rate"] > 0.5


def test_mode_seeking_loss_prefers_spread_out_samples():
    from dfkd_core.methods.hidfd.losses import mode_seeking_loss
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    base = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    close = torch.cat([base, base + 0.01])
    apart = torch.cat([base, 1 - base])
    assert mode_seeking_loss(apart, z) < 0.1 * mode_seeking_loss(close, z)
