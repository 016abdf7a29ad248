"""The engine functions the app's tabs and MCP tools call (so that names, seeds, writes and
overwrite rules live in the engine): watching one sample form, the settings grid, HiDFD's
sample export, the collapse detector, the distill settings and warnings, comparing runs,
exporting the kept set, and what a checkpoint says about itself."""

import json

import pytest
import torch
from conftest import needs_fmnist
from tiny_models import tiny_pixel_prior

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.errors import Cancelled
from dfkd_core.methods.base import label_with_teacher
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.methods.diffdfkd.sweep import grid_cells, grid_sweep, sweepable_settings
from dfkd_core.methods.diffdfkd.trajectory import agreement_steps, trajectory
from dfkd_core.methods.hidfd.quality import collapse_warning, collapsed_classes
from dfkd_core.methods.writer import add_to_sample_set
from dfkd_core.teacher.demo import demo_teacher


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    return load_backbone_cached(str(tiny_pixel_prior(tmp_path_factory.mktemp("prior"))))


def test_trajectory_has_both_passes_at_every_step_from_the_same_noise(prior):
    teacher, reported = demo_teacher(), []
    traj = trajectory(prior, teacher, 3, 5, GuidanceConfig(steps=5, strength=0.5, candidates=4), scorers={},
                      report=reported.append)
    assert [f["step"] for f in traj.frames] == [1, 2, 3, 4, 5] and traj.class_name == teacher.class_names[3]
    assert [r[1] for r in reported] == ["unguided"] * 5 + ["guided"] * 5  # every step of both passes, streamed
    first, last = traj.frames[0], traj.frames[-1]
    assert first["guided"]["image"].shape == first["unguided"]["image"].shape == (1, 16, 16)
    assert not last["guided"]["image"].equal(last["unguided"]["image"])  # guidance changed the sample
    assert traj.settings["candidates"] == 1  # one start each: the same noise in both rows
    # the teacher's verdict per step; at strength 0.5 it ends up more sure than without guidance
    assert all(0 <= f[p]["p_target"] <= 1 for f in traj.frames for p in ("guided", "unguided"))
    assert last["guided"]["p_target"] > last["unguided"]["p_target"]
    assert set(agreement_steps(traj, "guided", "teacher")) <= {1, 2, 3, 4, 5}
    with pytest.raises(Cancelled):
        trajectory(prior, teacher, 3, 5, GuidanceConfig(steps=5), scorers={}, should_stop=lambda: True)
    with pytest.raises(DfkdError, match="class index"):
        trajectory(prior, teacher, 10, 5, GuidanceConfig(steps=5), scorers={})


def test_trajectory_records_each_texture_proof_judges_verdict_per_step(prior):
    calls = []

    def judge(images):  # a judge that calls every image class 3
        calls.append(len(images))
        return torch.nn.functional.one_hot(torch.full((len(images),), 3), 10).float()
    traj = trajectory(prior, demo_teacher(), 3, 0, GuidanceConfig(steps=4), scorers={"always 3": judge,
                                                                                   "cannot": lambda images: None})
    assert traj.judges == ["always 3"] and calls == [4, 4]  # the judge that cannot see these images is left out
    assert all(f["guided"]["always 3"] == {"class": 3, "agrees": True} for f in traj.frames)
    assert agreement_steps(traj, "unguided", "always 3") == [1, 2, 3, 4]


def test_grid_sweep_rows_by_columns_every_class_same_seeds(prior):
    teacher, cells = demo_teacher(), []
    out = grid_sweep(prior, teacher, None, GuidanceConfig(steps=3, candidates=1), ("strength", [0.0, 0.5]),
                     ("steps", [2, 3]), per_class=2, on_cell=lambda i, cell: cells.append(i))
    assert [(c["row"], c["col"]) for c in out] == [(0.0, 2), (0.0, 3), (0.5, 2), (0.5, 3)] and cells == [0, 1, 2, 3]
    assert all(len(c["images"]) == 20 and c["targets"] == out[0]["targets"] for c in out)  # 10 classes x 2 seeds
    assert out[0]["seeds"] == out[3]["seeds"] and sorted(set(out[0]["targets"])) == list(range(10))
    assert 0 <= out[0]["figures"]["judges"]["teacher"] <= 1
    assert not out[0]["images"].equal(out[2]["images"])  # the row's setting changed the images
    assert "blur" in sweepable_settings() and "adv" not in sweepable_settings()
    assert sweepable_settings()["steps"]["whole"] and not sweepable_settings()["strength"]["whole"]
    with pytest.raises(DfkdError, match="whole numbers"):
        grid_cells(GuidanceConfig(), ("steps", [2.5]))
    with pytest.raises(DfkdError, match="both vary"):
        grid_cells(GuidanceConfig(), ("strength", [0.1]), ("strength", [0.2]))
    with pytest.raises(DfkdError, match="cells"):
        grid_cells(GuidanceConfig(), ("strength", list(range(7))), ("steps", list(range(1, 7))))
    with pytest.raises(DfkdError, match="strength"):  # every cell is checked before any sampling
        grid_cells(GuidanceConfig(), ("strength", [0.1, -1.0]))


def test_collapse_detector_names_black_flat_and_alike_classes():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(40, 1, 8, 8, generator=g) * 0.8 + 0.1
    labels = torch.arange(5).repeat_interleave(8)
    images[labels == 1] = 0.0  # near-black
    images[labels == 2] = 0.5  # near-constant grey
    images[labels == 3] = images[labels == 3][:1] + 0.001 * torch.rand(8, 1, 8, 8, generator=g)  # all alike
    names = ["a", "b", "c", "d", "e"]
    found = {f["class"]: f["reason"] for f in collapsed_classes(images, labels, names)}
    assert set(found) == {"b", "c", "d"}
    assert "black" in found["b"] and "constant" in found["c"] and "alike" in found["d"]
    assert "collapsed 3 classes: b (near-black" in collapse_warning(images, labels, names)
    healthy = torch.rand(40, 1, 8, 8, generator=g)
    assert collapse_warning(healthy, labels, names) is None


@needs_fmnist
def test_real_fashion_mnist_is_never_called_collapsed():
    from dfkd_core.data import load_dataset
    test = load_dataset("fashion-mnist", "test")
    images = test.images[:2000].float() / 255 if test.images.dtype == torch.uint8 else test.images[:2000]
    assert collapsed_classes(images, test.labels[:2000], test.class_names) == []


def test_send_samples_names_seeds_resumes_and_refuses_another_gans_samples(runs_dir):
    from dfkd_core.methods.hidfd.models import Generator, GeneratorSpec
    from dfkd_core.methods.hidfd.send import fresh_gan_folder, real_set_name, send_samples

    teacher = demo_teacher()
    generator = Generator(GeneratorSpec(num_classes=10, ch=4, z_dim=8, embed_dim=8)).eval()
    a, b = fresh_gan_folder(), fresh_gan_folder()
    assert a != b and a.parent == runs_dir / "hidfd-app"
    out = send_samples(generator, teacher, "send-a", 30, str(a), 5, should_stop=lambda: True)
    assert out["cancelled"] and out["sent"] == 0 and out["set_size"] == 0
    done = []
    out = send_samples(generator, teacher, "send-a", 30, str(a), 5, progress=lambda d, n: done.append((d, n)))
    assert not out["cancelled"] and out["set_size"] == 30 and out["sent"] == 30 and done == [(30, 30)]
    again = send_samples(generator, teacher, "send-a", 30, str(a), 5)
    assert again["made"] == 0 and again["target_rate"] is None and again["set_size"] == 30
    with pytest.raises(DfkdError, match="already holds"):  # another GAN's sample (class, seed) is refused
        send_samples(generator, teacher, "send-a", 30, str(b), 5)
    with pytest.raises(DfkdError, match="not allowed"):
        send_samples(generator, teacher, "../x", 3, str(a), 5)
    assert real_set_name("send-a") == "send-a-real" and len(real_set_name("x" * 64)) == 64


def test_distill_settings_are_checked_whole_by_the_engine():
    from dfkd_core.pipeline.runs import distill_settings
    assert distill_settings({"student": "resnet8", "epochs": 2, "eval": "none"}) == {"student": "resnet8", "epochs": 2}
    with pytest.raises(DfkdError, match="did you mean 'epochs'"):
        distill_settings({"student": "resnet8", "epoch": 2})
    with pytest.raises(DfkdError, match="student must be one of"):
        distill_settings({"student": "resnet9"})


def test_too_few_images_per_class_are_warned_before_and_after(runs_dir):
    from dfkd_core.pipeline.runs import class_counts, few_images_warning, student_warning
    teacher = demo_teacher()
    store = add_to_sample_set("few-69", label_with_teacher(teacher, torch.rand(69, 1, 32, 32), list(range(69)),
                                                           "noise"), teacher, {"class_names": teacher.class_names})
    counts = class_counts(str(store.root), teacher.class_names)
    assert sum(counts.values()) == 69 and set(counts) == set(teacher.class_names)
    warning = few_images_warning(str(store.root), teacher.class_names)
    assert "69 images, under 100 for" in warning and "76-79 %" in warning
    after = student_warning({"student_test_acc": 0.15, "ratio_to_teacher": 0.16}, str(store.root), teacher.class_names)
    assert after.startswith("The student reached 15.0 %, 16% of the teacher's") and "69 images" in after


def test_checkpoint_facts_read_the_class_count_and_architecture(tmp_path):
    from dfkd_core.models.zoo import build_model
    from dfkd_core.paths import TEACHER
    from dfkd_core.teacher.facts import checkpoint_facts
    torch.save({"state_dict": build_model("resnet8", 7, 3).state_dict()}, tmp_path / "a.pth")
    assert checkpoint_facts(tmp_path / "a.pth") == {"arch": "resnet8", "num_classes": 7, "matches": ["resnet8"]}
    assert checkpoint_facts(TEACHER)["num_classes"] == 10 and checkpoint_facts(TEACHER)["arch"] == "wrn_16_2"
    (tmp_path / "junk.pth").write_bytes(b"junk")
    assert checkpoint_facts(tmp_path / "junk.pth")["num_classes"] is None


def test_export_refuses_an_existing_set_and_omega_says_when_it_is_idle(runs_dir):
    from dfkd_core.filter.kept import export_kept_set, idle_thresholds
    from dfkd_core.filter.scores import scores_frame
    teacher = demo_teacher()
    store = add_to_sample_set("kept-src", label_with_teacher(teacher, torch.rand(4, 1, 32, 32), [0, 1, 2, 3],
                                                             "noise"), teacher, {"class_names": teacher.class_names})
    scores = store.manifest().assign(variation=0, kept=True)
    export_kept_set(store, scores, "kept-dest")
    with pytest.raises(DfkdError, match="already exists"):
        export_kept_set(store, scores, "kept-dest")
    assert "ω changes nothing" in idle_thresholds(scores)[0]
    assert idle_thresholds(scores.assign(variation=[0, 1, 0, 0])) == []
    assert callable(scores_frame)


def test_compare_runs_lists_curves_finals_and_differing_settings(runs_dir):
    from dfkd_core.pipeline.compare import compare_runs, setting_differences
    for name, epochs in (("cmp-a", 2), ("cmp-b", 3)):
        folder = runs_dir / "distill" / name
        (folder / "02-distill").mkdir(parents=True)
        (folder / "config.yaml").write_text(f"name: {name}\nstages:\n- samples: {{path: /x}}\n"
                                            f"- distill: {{student: resnet8, epochs: {epochs}}}\n")
        (folder / "results.json").write_text(json.dumps({"student": "resnet8", "student_test_acc": 0.5,
                                                         "train_images": 48, "epochs": epochs}))
        (folder / "02-distill" / "metrics.csv").write_text("epoch,train_loss\n" + "".join(
            f"{e},{1 / e}\n" for e in range(1, epochs + 1)))
    out = compare_runs(["distill/cmp-a", "distill/cmp-b"])
    assert [len(r["curve"]) for r in out["runs"]] == [2, 3] and out["runs"][1]["curve"][2]["epoch"] == 3.0
    assert out["differences"] == {"stages[2].distill.epochs": [2, 3]}  # names differ always: not listed
    assert out["runs"][0]["per_class"] is None  # evaluated on nothing
    assert setting_differences([{"a": 1}, {"a": 1, "b": 2}]) == {"b": ["(not set)", 2]}
    with pytest.raises(DfkdError, match="2-6 finished runs"):
        compare_runs(["distill/cmp-a"])
    with pytest.raises(DfkdError, match="No finished distillation run"):
        compare_runs(["distill/cmp-a", "../../etc"])
