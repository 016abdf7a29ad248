"""Issue 34, part 4: numbers every range check accepts (per_class 100000, batch_size 4096,
steps 1000) can still ask for more memory than the machine has; the run config check refuses
them before any model loads, naming the setting to lower and the limit to raise."""

import pytest
from tiny_models import tiny_pixel_prior, tiny_stable_diffusion

from dfkd_core.errors import DfkdError
from dfkd_core.pipeline.checks import check_run
from dfkd_core.pipeline.memory import backbone_image, teacher_image
from dfkd_core.runtime import budget

PROBE = {"per_class": 100_000, "batch_size": 4096, "guidance": {"steps": 1000}}  # from the probe of 283 bad inputs


def run(*stages) -> dict:
    return {"teacher": "demo", "device": "cpu", "stages": list(stages)}


def test_the_estimate_is_the_stated_formula():
    assert budget.batch_bytes(1, 32, 3) == 32 * 32 * (3 * 16 + 1000) * 4
    assert budget.batch_bytes(8192, 32, 1) == 8192 * budget.batch_bytes(1, 32, 1)


def test_the_probe_s_generate_config_is_refused_before_any_model_loads(monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded")
    monkeypatch.setattr("dfkd_core.diffusion.loading.load_backbone", no_loading)
    monkeypatch.setattr("dfkd_core.teacher.spec.resolve_teacher", no_loading)
    monkeypatch.setenv(budget.ENV, "8")
    # the demo prior makes 1x32x32 images: 4096 x 1024 pixels x 1,016 floats x 4 bytes = 15.9 GB
    with pytest.raises(DfkdError, match=r"stage 1 'generate': a batch of 4,096 images \(batch_size 4096\) of 1x32x32 "
                       r"needs about 15.9 GB of memory, more than the 8.0 GB allowed \(DFKD_MAX_MEMORY_GB=8\). "
                       r"Lower batch_size"):
        check_run(run({"generate": PROBE}))
    monkeypatch.setenv(budget.ENV, "20")  # the user raised the limit: it passes
    check_run(run({"generate": PROBE}))


def test_the_default_limit_is_half_the_machine_s_memory(monkeypatch):
    monkeypatch.delenv(budget.ENV, raising=False)
    monkeypatch.setattr(budget.os, "sysconf", lambda name: {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2**22}[name])
    assert budget.memory_limit()[0] == 8 * budget.GB  # 16 GB of RAM
    with pytest.raises(DfkdError, match=r"more than the 8.0 GB allowed \(half of this machine's 16 GB of RAM; "
                       r"raise it with DFKD_MAX_MEMORY_GB\)"):
        check_run(run({"generate": PROBE}))
    check_run(run({"generate": {"per_class": 100_000, "batch_size": 64, "guidance": {"steps": 1000}}}))


@pytest.mark.parametrize("value", ["0", "-2", "lots", "nan", "inf"])
def test_a_bad_limit_is_refused(monkeypatch, value):
    monkeypatch.setenv(budget.ENV, value)
    with pytest.raises(DfkdError, match="DFKD_MAX_MEMORY_GB must be a positive number of gigabytes"):
        budget.memory_limit()


@pytest.mark.parametrize("stage, lower", [
    ({"deepinversion": {"batch_size": 4096}}, "Lower batch_size"),
    ({"fast_dfkd": {"synthesis_batch_size": 4096}}, "Lower synthesis_batch_size or batch_size"),
    ({"cmi": {"batch_size": 4096}}, "Lower synthesis_batch_size or batch_size"),
    ({"hidfd": {"batch_size": 4096}}, "Lower gan.batch_size or batch_size"),
    ({"generate": {"batch_size": 512, "guidance": {"copies": 8}}}, r"\(batch_size 512 x guidance.copies 8\)"),
])
def test_every_stage_that_makes_images_is_checked(monkeypatch, stage, lower):
    monkeypatch.setenv(budget.ENV, "4")
    with pytest.raises(DfkdError, match=lower):
        check_run(run(stage, {"distill": {}}))


def test_augment_is_checked_at_its_backbone_s_size(monkeypatch, tmp_path):
    prior = str(tiny_pixel_prior(tmp_path / "prior", channels=3, size=64))
    assert backbone_image(prior) == (64, 3)
    monkeypatch.setenv(budget.ENV, "4")
    source = {"generate": {"backbone": prior, "per_class": 1}}
    check_run(run(source, {"augment": {"backbone": prior, "batch_size": 64}}))  # 64 x 4096 px: 1.1 GB
    with pytest.raises(DfkdError, match=r"stage 2 'augment': a batch of 512 images \(batch_size 512\) of 3x64x64"):
        check_run(run(source, {"augment": {"backbone": prior, "batch_size": 512}}))


def test_sizes_come_from_the_configs_the_run_can_read(tmp_path):
    assert teacher_image("demo") == (32, 1)
    assert teacher_image({"source": "a.pth", "arch": "wrn_16_1", "input_size": 224}) == (224, 3)
    assert teacher_image("no/such/teacher.pth") is None
    sd = tiny_stable_diffusion(tmp_path / "sd")
    side, channels = backbone_image(str(sd))
    assert (side, channels) == (16, 3)  # the decoder's image: the 8x8 latent, upsampled once per extra VAE block
    assert backbone_image("someone/not-in-the-cache") is None
