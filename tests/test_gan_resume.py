"""HiDFD's GAN resumes exactly (#33.4): stopped at any step, or killed after a timed
checkpoint, it ends with the weights, EMA and metric rows of an uninterrupted run; a
checkpoint of an older version (a torch pickle) is refused."""

import pytest
import torch
from gan_toy import teacher_labelled, toy_teacher

from dfkd_core import DfkdError
from dfkd_core.io import load_state
from dfkd_core.methods.hidfd.config import GANConfig
from dfkd_core.methods.hidfd.train import train_gan

TINY = {"batch_size": 16, "g_ch": 8, "d_ch": 8, "z_dim": 16, "real_bank": 2, "log_every": 4,
        "checkpoint_every": 1000}  # 6 steps: rows at 4 and 6, so a cut at 3 or 4 needs the saved sums


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Bit-identical float rounding between two runs needs one thread's summation order."""
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


@pytest.fixture(scope="module")
def full(teacher, real, tmp_path_factory):
    return train_gan(real, teacher, GANConfig(steps=6, **TINY), tmp_path_factory.mktemp("full"))


def _same_run(a, b):
    for x, y in zip(a.ema.state_dict().values(), b.ema.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    for x, y in zip(a.generator.state_dict().values(), b.generator.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    assert [{**r, "seconds": 0} for r in a.rows] == [{**r, "seconds": 0} for r in b.rows]


def test_interrupted_run_resumes_to_the_same_result(teacher, real, full, tmp_path):
    cfg = GANConfig(steps=6, **TINY)
    calls = {"n": 0}

    def stop_after_three():
        calls["n"] += 1
        return calls["n"] > 3

    part = train_gan(real, teacher, cfg, tmp_path / "part", should_stop=stop_after_three)
    assert not part.finished and part.step == 3
    ckpt = load_state(tmp_path / "part" / "checkpoint.safetensors")  # tensors and plain values, no pickle
    assert ckpt["step"] == 3 and ckpt["interval"]["sums"]["loss_d"] != 0  # steps 1-3 of the first row
    resumed = train_gan(real, teacher, cfg, tmp_path / "part")
    assert resumed.finished and resumed.step == 6
    _same_run(full, resumed)
    with pytest.raises(DfkdError, match="other GAN settings"):
        train_gan(real, teacher, GANConfig(steps=6, **{**TINY, "oh": cfg.oh + 1}), tmp_path / "part")


def test_a_killed_run_resumes_from_its_last_timed_checkpoint(teacher, real, full, tmp_path, monkeypatch):
    from dfkd_core.runtime import checkpoint
    cfg = GANConfig(steps=6, **TINY)  # checkpoint_every 1000: only the clock saves
    monkeypatch.setattr(checkpoint, "SAVE_SECONDS", 0.0)
    polls = iter(range(100))

    def ctrl_c_before_step_five():
        if next(polls) == 4:
            raise KeyboardInterrupt
        return False

    with pytest.raises(KeyboardInterrupt):
        train_gan(real, teacher, cfg, tmp_path / "cut", should_stop=ctrl_c_before_step_five)
    assert load_state(tmp_path / "cut" / "checkpoint.safetensors")["step"] == 4
    _same_run(full, train_gan(real, teacher, cfg, tmp_path / "cut"))


def test_a_pickled_gan_checkpoint_of_an_older_version_is_refused(teacher, real, tmp_path):
    torch.save({"step": 1}, tmp_path / "checkpoint.pt")
    with pytest.raises(DfkdError, match="older version.*new output folder"):
        train_gan(real, teacher, GANConfig(steps=1, **TINY), tmp_path)
