"""The judge panel: texture-proof judges fit on real images see what the teacher cannot
(an adversarial perturbation fools the teacher, not them), are at chance on noise, are
cached, and `dfkd judge` prints them and writes the grid."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import needs_fmnist
from PIL import Image

from dfkd_core.cli import main
from dfkd_core.errors import DfkdError
from dfkd_core.judges import JudgePanel, ReferenceSettings, save_grid
from dfkd_core.judges import cache as judge_cache
from dfkd_core.judges.diversity import relative_diversity
from dfkd_core.judges.frechet import frechet_distance, gaussian_stats
from dfkd_core.judges.grid import GAP, LABEL_WIDTH
from dfkd_core.judges.network import softness

SMALL = ReferenceSettings(fit_images=2000, test_images=1000)  # bounded: fits in seconds
SMALL_FLAGS = ["--fit-images", "2000", "--test-images", "1000"]
PIXEL_JUDGES = ("pixel_knn", "pca_linear")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("judge-cache")


@pytest.fixture(scope="module")
def panel(cache_dir):
    return JudgePanel.for_demo(cache_dir=cache_dir, settings=SMALL)


@pytest.fixture(scope="module")
def real_test():
    from dfkd_core.data import load_dataset
    test = load_dataset("fashion-mnist", "test").subset(range(9000, 9300))  # outside the judges' 1,000
    return test.images.float() / 255, test.labels


def agreements(result) -> dict:
    return {k: j["agreement"] for k, j in result["judges"].items()}


# --- no dataset needed ----------------------------------------------------------------------------------

def test_frechet_distance_is_zero_for_equal_sets_and_the_squared_shift_of_the_mean():
    x = torch.randn(500, 4, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(gaussian_stats(x), gaussian_stats(x)) == pytest.approx(0, abs=1e-6)
    assert frechet_distance(gaussian_stats(x), gaussian_stats(x + 3)) == pytest.approx(4 * 9, rel=1e-6)


def test_diversity_is_zero_for_copies_and_one_for_the_real_spread_itself():
    images = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([0, 0, 0, 1, 1, 1])
    spread = torch.pdist(images[:3].flatten(1)).mean()
    assert relative_diversity(images[:1].repeat(6, 1, 1, 1), targets, torch.ones(2))["relative"] == 0
    result = relative_diversity(images, targets, torch.tensor([float(spread), 1.0, 1.0]))
    assert result["per_class"][0] == pytest.approx(1, abs=1e-4) and result["per_class"][2] is None


def test_softness_is_the_entropy_and_the_share_of_unsure_images():
    sure, even = torch.eye(4)[:2], torch.full((2, 4), 0.25)
    assert softness(sure) == {"mean_entropy": 0.0, "unsure": 0.0}
    both = softness(torch.cat([sure, even]))
    assert both["mean_entropy"] == pytest.approx(math.log(4) / 2) and both["unsure"] == 0.5


def test_the_grid_has_a_labelled_row_per_class_and_marks_missing_samples(tmp_path):
    images = torch.ones(3, 1, 8, 8)
    path = save_grid(images, [0, 0, 2], ["a", "b", "c"], tmp_path / "g.png", columns=2, scale=2)
    grid = np.asarray(Image.open(path).convert("L"))
    assert grid.shape == (3 * (16 + GAP), LABEL_WIDTH + 2 * (16 + GAP))
    cell = lambda row, col: grid[row * 18 + 8, LABEL_WIDTH + col * 18 + 8]  # noqa: E731
    assert cell(0, 0) == cell(0, 1) == cell(2, 0) == 255  # the white samples
    assert cell(1, 0) < 255 and cell(2, 1) < 255  # no sample of class 1; one of class 2
    assert grid[18 + 8, :LABEL_WIDTH].min() < 128  # the class name is written


def test_a_folder_without_a_manifest_exits_2_with_what_is_expected(tmp_path, capsys):
    (tmp_path / "images").mkdir()
    assert main(["judge", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "No sample store" in err and "expected a folder" in err
    assert "Traceback" not in err


# --- with Fashion-MNIST ----------------------------------------------------------------------------------

@needs_fmnist
def test_real_test_images_score_high_on_the_texture_proof_judges(panel, real_test):
    result = panel.judge(*real_test)
    for key in PIXEL_JUDGES:
        judge = result["judges"][key]
        assert judge["kind"] == "texture-proof" and judge["agreement"] >= 0.7 and judge["test_accuracy"] >= 0.7
    assert result["judges"]["teacher"]["agreement"] >= 0.85
    assert result["judges"]["reference_cnn"]["kind"] == "network"
    fd = result["frechet"]
    assert fd["samples"] < 2 * fd["real_floor"]  # real images sit at the real floor
    assert 0.8 <= result["diversity"]["relative"] <= 1.25
    teacher = result["judges"]["teacher"]  # as sure of real test images as of real pool images
    assert teacher["mean_entropy"] == pytest.approx(teacher["real"]["mean_entropy"], rel=0.5)
    assert 0 < teacher["unsure"] < 0.5 and 0 < teacher["real"]["unsure"] < 0.5


@needs_fmnist
def test_noise_and_shuffled_labels_are_at_chance(panel, real_test):
    gen = torch.Generator().manual_seed(1)
    images, labels = real_test
    panel = JudgePanel(panel.reference)  # the pixel judges alone: the networks are the slow part
    noise = panel.judge(torch.rand(300, 1, 32, 32, generator=gen), torch.randint(0, 10, (300,), generator=gen))
    shuffled = panel.judge(images, labels[torch.randperm(len(labels), generator=gen)])
    real = panel.judge(images, labels)
    for result in (noise, shuffled):
        assert all(agreements(result)[k] < 0.2 for k in PIXEL_JUDGES), agreements(result)
    assert noise["frechet"]["samples"] > 5 * real["frechet"]["samples"]


def _targeted_pgd(teacher, images, wrong, eps=10 / 255, steps=8):
    """A few sign-gradient steps toward `wrong`, each pixel within eps of the real image."""
    adv = images.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        grad, = torch.autograd.grad(F.cross_entropy(teacher(adv), wrong), adv)
        adv = (adv.detach() - 2.5 * eps / steps * grad.sign()).clamp(images - eps, images + eps).clamp(0, 1)
    return adv


@needs_fmnist
def test_an_adversarial_perturbation_fools_the_teacher_but_not_the_pixel_judges(panel, real_test):
    images, labels = real_test[0][:20], real_test[1][:20]
    wrong = (labels + 1) % 10
    adv = _targeted_pgd(panel.networks["teacher"].model, images, wrong)
    panel = JudgePanel(panel.reference, {"teacher": panel.networks["teacher"]})
    toward_wrong, toward_true = agreements(panel.judge(adv, wrong)), agreements(panel.judge(adv, labels))
    assert toward_wrong["teacher"] >= 0.9  # the teacher now "sees" the wrong class
    assert all(toward_wrong[k] <= 0.1 for k in PIXEL_JUDGES), toward_wrong
    assert all(toward_true[k] >= 0.7 for k in PIXEL_JUDGES), toward_true  # they still see the garment


@needs_fmnist
def test_fitted_judges_are_cached_and_a_damaged_cache_file_is_refit(cache_dir, panel, real_test, monkeypatch,
                                                                     tmp_path):
    assert judge_cache.cache_path(cache_dir, SMALL).is_file()
    with monkeypatch.context() as m:  # a second panel on the same settings must not fit again
        m.setattr(judge_cache, "fit_reference", lambda s: pytest.fail("refit although cached"))
        again = JudgePanel.build(SMALL, cache_dir)
    first, second = JudgePanel(panel.reference).judge(*real_test), again.judge(*real_test)
    assert agreements(second)["pixel_knn"] == agreements(first)["pixel_knn"]
    assert second["frechet"] == first["frechet"] and second["diversity"] == first["diversity"]
    damaged = judge_cache.cache_path(tmp_path, SMALL)
    damaged.write_bytes(b"not safetensors")
    fits = []
    monkeypatch.setattr(judge_cache, "fit_reference", lambda s: fits.append(s) or panel.reference)
    judge_cache.cached_reference(SMALL, tmp_path)
    assert fits == [SMALL] and judge_cache.load_reference(damaged, SMALL) is not None
    other = ReferenceSettings(fit_images=500, test_images=1000)
    assert judge_cache.load_reference(damaged, other) is None  # fit with other settings: not used


@needs_fmnist
def test_samples_of_another_size_are_refused(panel):
    with pytest.raises(DfkdError, match="1x32x32 images of fashion-mnist"):
        panel.judge(torch.rand(4, 3, 32, 32), torch.zeros(4, dtype=torch.long))


@needs_fmnist
def test_dfkd_judge_prints_every_judge_and_writes_the_grid(tmp_path, cache_dir, real_test, capsys):
    from dfkd_core.data.fashion_mnist import CLASSES
    from dfkd_core.store import LabelledBatch, SampleStore
    images, labels = real_test[0][:40], real_test[1][:40]
    probs = F.one_hot(labels, 10).float()
    SampleStore(tmp_path / "store").add(LabelledBatch(images, labels, list(range(40)), probs, "real"),
                                        CLASSES, {"class_names": CLASSES})
    code = main(["judge", str(tmp_path / "store"), "--cache-dir", str(cache_dir),  # writes beside the store
                 "--device", "cpu", "--columns", "4", *SMALL_FLAGS])
    out = capsys.readouterr().out
    assert code == 0
    for words in ("teacher (wrn_16_2)", "reference CNN (wrn_16_1)", "pixel kNN", "linear on pixel PCA-64",
                  "texture-proof", "network", "teacher (wrn_16_2) softness: mean entropy", "Fréchet distance",
                  "within-class diversity"):
        assert words in out
    figures = json.loads((tmp_path / "store-judges" / "judges.json").read_text())
    assert figures["samples"] == 40 and figures["judges"]["pixel_knn"]["agreement"] >= 0.6
    grid = Image.open(tmp_path / "store-judges" / "grid.png")
    assert grid.size == (LABEL_WIDTH + 4 * (96 + GAP), 10 * (96 + GAP))
    assert main(["judge", str(tmp_path / "store"), "--k", "0", "--cache-dir", str(cache_dir)]) == 2
    assert "--k: must be >= 1 and <= 100, got 0" in capsys.readouterr().err
