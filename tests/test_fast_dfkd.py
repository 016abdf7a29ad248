"""Fast-DFKD (dfkd_core.methods.fast_dfkd) on a tiny random teacher: its three losses do what they
claim, the meta-update moves the shared initialisation (and a stopped episode moves
nothing), a run interrupted anywhere resumes to the images of an uninterrupted run, bad
settings are refused up front, and the stage runs in `dfkd run`. CMI (dfkd_core.methods.cmi) shares
the source, checkpoint and stage: the resume and pipeline tests run for both."""

import json
import threading

import pytest
import torch
import yaml
from dda_kit import small_teacher, teacher_card

from dfkd_core.cli import main
from dfkd_core.errors import Cancelled, DfkdError
from dfkd_core.methods import write_source
from dfkd_core.methods.cmi.config import CMIConfig
from dfkd_core.methods.cmi.source import CMI
from dfkd_core.methods.fast_dfkd.config import FastDFKDConfig
from dfkd_core.methods.fast_dfkd.episode import MetaSynthesizer
from dfkd_core.methods.fast_dfkd.losses import BNMomentum, adversarial_loss
from dfkd_core.methods.fast_dfkd.source import FastDFKD
from dfkd_core.methods.fast_dfkd.state import CHECKPOINT
from dfkd_core.methods.online_student import OnlineStudent
from dfkd_core.pipeline.checks import check_run
from dfkd_core.store import SampleStore

TINY = {"nz": 16, "ngf": 8, "synthesis_batch_size": 6, "batch_size": 8, "g_steps": 4, "kd_steps": 2,
        "warmup": 1, "student": "resnet8"}
TINY_CMI = {**TINY, "bank_size": 12, "n_neg": 4, "head_dim": 8}
# stage name -> (source, config class, tiny settings)
SOURCES = {"fast_dfkd": (FastDFKD, FastDFKDConfig, TINY), "cmi": (CMI, CMIConfig, TINY_CMI)}


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return small_teacher()


@pytest.fixture(scope="module")
def calibrated_teacher():
    """A teacher whose BN running statistics are those of a known image distribution (a random
    teacher's are mean 0, variance 1, which no image reaches), so the BN loss has a floor of 0."""
    torch.manual_seed(0)
    teacher, data = small_teacher(), torch.rand(64, 1, 32, 32) ** 3
    with torch.no_grad():
        for i, layer in enumerate(teacher.batchnorm_layers()):  # in order: each layer's input depends on the last
            mean, var, _, _ = _batch_statistics(teacher, data)[i]
            layer.running_mean.copy_(mean)
            layer.running_var.copy_(var)
    return teacher


def tiny(**changes) -> FastDFKDConfig:
    return FastDFKDConfig(**{**TINY, **changes}).validate()


def _episode(teacher, cfg, student=None, seeds=range(100, 106), synth=None):
    synth = synth or MetaSynthesizer(teacher, cfg, seed=0)
    return synth, synth.episode(torch.tensor([0, 1, 2, 0, 1, 2]), list(seeds), student)


# ---- the losses ----

def test_the_teacher_cross_entropy_drops_over_an_episode(teacher):
    _, ep = _episode(teacher, tiny(oh=1.0, bn=0.0, adv=0.0, g_steps=8, lr_g=0.05, lr_z=0.1))
    assert len(ep.ce) == 8 and ep.ce[-1] < 0.75 * ep.ce[0]
    assert ep.images.shape == (6, 1, 32, 32) and 0 <= ep.images.min() and ep.images.max() <= 1


def test_the_bn_loss_drops_over_an_episode(calibrated_teacher):
    _, ep = _episode(calibrated_teacher, tiny(oh=0.0, bn=1.0, adv=0.0, g_steps=8, lr_g=0.01, lr_z=0.05, bn_mmt=0.0))
    assert ep.bn[-1] < 0.7 * ep.bn[0]


def _batch_statistics(teacher, x):
    """Per BN layer of the teacher: (mean, var of its input over batch and space, running mean, running var)."""
    seen = []

    def hook(module, inputs, _output):
        x = inputs[0]
        seen.append((x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False), module.running_mean, module.running_var))
    hooks = [m.register_forward_hook(hook) for m in teacher.batchnorm_layers()]
    teacher(x)
    for h in hooks:
        h.remove()
    return seen


def test_the_bn_loss_is_against_the_teacher_running_statistics_mixed_with_the_carried_ones(teacher):
    a, b = torch.rand(5, 1, 32, 32), torch.rand(5, 1, 32, 32) * 0.5
    want = sum((rm - m).norm() + (rv - v).norm() for m, v, rm, rv in _batch_statistics(teacher, a))
    bn = BNMomentum(0.9)
    with teacher.bn_statistics() as stats:
        teacher(a)
    assert torch.allclose(bn.loss(stats), want)  # no episode before: the batch alone
    bn.update(stats)
    with teacher.bn_statistics() as stats_b:
        teacher(b)
    mixed = sum((rm - (0.1 * mb + 0.9 * ma)).norm() + (rv - (0.1 * vb + 0.9 * va)).norm()
                for (ma, va, _, _), (mb, vb, rm, rv) in zip(_batch_statistics(teacher, a),
                                                            _batch_statistics(teacher, b)))
    assert torch.allclose(bn.loss(stats_b), mixed)
    assert len(bn.mean) == len(teacher.batchnorm_layers()) == 3


def test_the_adversarial_loss_is_zero_where_teacher_and_student_disagree():
    t = torch.tensor([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    s = torch.tensor([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]], requires_grad=True)  # all disagree
    loss = adversarial_loss(t, s)
    loss.backward()
    assert loss.item() == 0 and s.grad.abs().sum() == 0
    agree = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 3.0]])  # rows 0 and 2 agree with t
    kl = torch.nn.functional.kl_div(agree.log_softmax(1), t.softmax(1), reduction="none").sum(1)
    assert torch.allclose(adversarial_loss(t, agree), -(kl[0] + kl[2]) / 3)
    assert adversarial_loss(t, agree) < 0


def test_the_adversarial_loss_counts_only_after_warmup(teacher):
    cfg = tiny(adv=1.0, warmup=1)
    student = OnlineStudent(teacher, "resnet8", seed=0)
    synth, first = _episode(teacher, cfg, student)
    assert all(a == 0 for a in first.adv)  # episode 1 of warm-up
    _, second = _episode(teacher, cfg, student, synth=synth)
    assert any(a != 0 for a in second.adv)
    assert all(p.requires_grad for p in student.model.parameters())  # frozen only during the episode


# ---- the meta-update ----

@pytest.mark.parametrize("is_maml", [True, False])
def test_an_episode_moves_the_shared_initialisation_and_a_stopped_one_moves_nothing(teacher, is_maml):
    cfg = tiny(is_maml=is_maml, adv=0.0)
    synth = MetaSynthesizer(teacher, cfg, seed=0)
    before = {k: v.clone() for k, v in synth.generator.state_dict().items()}
    calls = iter(range(100))
    stopped = synth.episode(torch.tensor([0, 1, 2]), [1, 2, 3], should_stop=lambda: next(calls) >= 2)
    assert not stopped.finished and len(stopped.ce) == 2 and synth.episodes == 0
    assert all(torch.equal(v, synth.generator.state_dict()[k]) for k, v in before.items())
    synth.episode(torch.tensor([0, 1, 2]), [1, 2, 3])
    after = synth.generator.state_dict()
    assert synth.episodes == 1
    moved = [k for k, v in before.items() if v.is_floating_point() and not torch.equal(v, after[k])]
    assert "l1.weight" in moved and "conv_blocks.2.weight" in moved


# ---- exact resume ----

def _run(folder, teacher, stop_after=None, cfg=None, stage="fast_dfkd"):
    """The stage's flow (resume, then write_source); stop after `stop_after` stored batches."""
    store = SampleStore(folder)
    source_class, config_class, settings = SOURCES[stage]
    source = source_class(teacher, cfg or config_class(**{**settings, "adv": 1.0}).validate(), per_class=6, seed=3,
                          folder=folder)
    keys = source.plan()
    make, source.episodes_made = source.make, 0

    def counted(chunk, should_stop=None):
        source.episodes_made += 1
        return make(chunk, should_stop)
    source.make = counted
    source.resume(store, keys)
    stored = []
    stop = threading.Event()

    def progress(done, total):
        stored.append(done)
        if stop_after is not None and len(stored) >= stop_after:
            stop.set()
    try:
        write_source(source, store, keys, source.cfg.synthesis_batch_size, progress=progress,
                     should_stop=stop.is_set)
    except Cancelled:
        pass
    return store, source


def _images(store):
    ids = sorted(store.manifest()["id"])
    return ids, store.images(ids)


@pytest.mark.slow
@pytest.mark.parametrize("stage", SOURCES)
def test_a_run_stopped_after_k_episodes_resumes_to_the_images_of_an_uninterrupted_run(teacher, tmp_path, stage):
    whole, source = _run(tmp_path / "whole", teacher, stage=stage)
    assert len(whole.manifest()) == 18 and source.synth.episodes == 3  # 3 classes x 6, 6 per episode
    assert sorted(torch.bincount(torch.tensor(whole.manifest()["target"].astype(int).tolist())).tolist()) == [6] * 3
    cut, _ = _run(tmp_path / "cut", teacher, stop_after=1, stage=stage)
    assert len(cut.manifest()) == 6
    cut, source = _run(tmp_path / "cut", teacher, stage=stage)
    assert source.synth.episodes == 3 and source.episodes_made == 2  # the checkpoint held episode 1
    (ids, a), (ids_b, b) = _images(whole), _images(cut)
    assert ids == ids_b and torch.equal(a, b)
    # Killed between storing episode 2 and checkpointing it: the rerun remakes episode 2 to catch up.
    _, source = _run(tmp_path / "killed", teacher, stop_after=1, stage=stage)
    old = source.checkpoint.read_bytes()
    _run(tmp_path / "killed", teacher, stop_after=1, stage=stage)
    source.checkpoint.write_bytes(old)
    killed, source = _run(tmp_path / "killed", teacher, stage=stage)
    assert source.synth.episodes == 3 and source.episodes_made == 2  # episode 2 again, then 3
    assert torch.equal(_images(killed)[1], a)


def test_a_checkpoint_made_with_other_settings_is_refused(teacher, tmp_path):
    _run(tmp_path, teacher, stop_after=1, cfg=tiny(adv=0.0, g_steps=1))
    with pytest.raises(DfkdError, match="other Fast-DFKD settings; use a new output folder"):
        FastDFKD(teacher, tiny(adv=0.0, g_steps=2), per_class=6, seed=3, folder=tmp_path)
    (tmp_path / CHECKPOINT).write_bytes(b"not a checkpoint")
    with pytest.raises(DfkdError, match="is not this run's Fast-DFKD checkpoint"):
        FastDFKD(teacher, tiny(adv=0.0, g_steps=1), per_class=6, seed=3, folder=tmp_path)


# ---- settings ----

@pytest.mark.parametrize("settings, message", [
    ({"g_stepz": 3}, "unknown settings 'g_stepz' (did you mean 'g_steps'?)"),
    ({"bn_mmt": 1.0}, "bn_mmt must be >= 0 and < 1"),
    ({"is_maml": 1}, "is_maml must be true or false"),
    ({"nz": 10 ** 6}, "nz must be >= 1 and <= 4096"),
    ({"memory": 0}, "memory must be >= 1"),
    ({"lr_g": 0}, "lr_g must be > 0"),
    ({"adv": float("nan")}, "adv must be a finite number"),
    ({"student": "wrn_99"}, "Unknown architecture 'wrn_99'"),
    ({"per_class": 0}, "per_class must be >= 1"),
])
def test_bad_settings_are_refused_before_any_work(settings, message):
    with pytest.raises(DfkdError) as e:
        check_run({"teacher": "demo", "device": "cpu", "stages": [{"fast_dfkd": settings}, {"distill": {}}]})
    assert "stage 1 'fast_dfkd'" in str(e.value) and message in str(e.value)


# ---- the pipeline ----

@pytest.mark.slow
@pytest.mark.parametrize("stage", SOURCES)
def test_the_stage_runs_in_dfkd_run_end_to_end(tmp_path, capsys, stage):
    cfg = {"name": "fast", "teacher": teacher_card(tmp_path), "device": "cpu",
           "stages": [{stage: {"per_class": 4, **SOURCES[stage][2], "g_steps": 2}},
                      {"distill": {"student": "resnet8", "epochs": 1, "batch_size": 8, "onnx": False}}]}
    path = tmp_path / "fast.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out)]) == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["images"] == 12 and results[f"{stage}_episodes"] == 2 and results["train_images"] == 12
    store = SampleStore(out / f"01-{stage}")
    assert set(store.manifest()["method"]) == {stage}
    assert (out / f"01-{stage}" / SOURCES[stage][0].checkpoint_name).exists()
    assert main(["run", str(path), "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("done earlier, skipped") == 2
