"""GenerateConfig checks every setting before any work: per_class is a positive whole
number with an upper bound, the planned total is bounded, and a bad value in a YAML
config is a DfkdError (exit 2 from the CLI), never a traceback or an exhausted machine."""

import pytest

from dfkd_core.cli import main
from dfkd_core.errors import DfkdError
from dfkd_core.methods.diffdfkd.config import MAX_IMAGES, MAX_PER_CLASS, GenerateConfig
from dfkd_core.methods.diffdfkd.generate import plan, run_generation


def _cfg(tmp_path, **kw):
    return {"out": str(tmp_path / "run"), "teacher": str(tmp_path / "no-teacher.json"), **kw}


@pytest.mark.parametrize("per_class, message", [
    (1_000_000_000, f"per_class must be >= 1 and <= {MAX_PER_CLASS}"), (0, "per_class must be >= 1"),
    (-1, "per_class must be >= 1"), ("three", "per_class must be a whole number, got 'three'"),
    (2.5, "per_class must be a whole number"), (True, "per_class must be a whole number")])
def test_per_class_is_refused_up_front(tmp_path, per_class, message):
    with pytest.raises(DfkdError, match=message):
        GenerateConfig.from_dict(_cfg(tmp_path, per_class=per_class))
    assert not (tmp_path / "run").exists()


def test_the_api_checks_a_config_built_by_hand_before_loading_anything(tmp_path):
    cfg = GenerateConfig(out=str(tmp_path / "run"), teacher=str(tmp_path / "no-teacher.json"), per_class=10 ** 9)
    with pytest.raises(DfkdError, match="per_class"):  # not: a teacher that does not exist, nor an exhausted machine
        run_generation(cfg)
    assert not (tmp_path / "run").exists()


def test_the_planned_total_is_bounded(tmp_path):
    classes = list(range(MAX_IMAGES // MAX_PER_CLASS + 1))
    with pytest.raises(DfkdError, match="one run makes at most"):
        GenerateConfig.from_dict(_cfg(tmp_path, per_class=MAX_PER_CLASS, classes=classes))
    cfg = GenerateConfig.from_dict(_cfg(tmp_path, per_class=MAX_PER_CLASS))  # every class: known once the teacher is
    with pytest.raises(DfkdError, match=r"100000 per class x 1000 classes = 100,000,000 images"):
        plan(cfg, 1000)
    assert len(plan(GenerateConfig.from_dict(_cfg(tmp_path, per_class=3)), 4)) == 12


@pytest.mark.parametrize("settings, message", [
    ({"batch_size": 0}, "batch_size must be >= 1"), ({"seed": -3}, "seed must be >= 0"),
    ({"classes": []}, "classes must be a non-empty list"), ({"classes": ["cat"]}, "classes must be a whole number"),
    ({"classes": [1, 1]}, "name a class twice"), ({"per_clas": 3}, "'per_clas' \\(did you mean 'per_class'\\?\\)"),
    ({"guidance": {"stepz": 3}}, "did you mean 'steps'"), ({"guidance": {"strength": float("nan")}}, "finite"),
    ({"guidance": {"steps": "many"}}, "steps must be a whole number"),
    ({"guidance": {"window": 0.5}}, "window must be a list, got 0.5")])
def test_other_bad_settings_are_named(tmp_path, settings, message):
    with pytest.raises(DfkdError, match=message):
        GenerateConfig.from_dict(_cfg(tmp_path, **settings))


@pytest.mark.parametrize("line", ["per_class: three", "per_class: 1000000000", "per_class: 0", "per_class: -1"])
def test_cli_refuses_a_bad_per_class_in_a_config_with_exit_2(tmp_path, capsys, line):
    (tmp_path / "c.yaml").write_text(f"out: {tmp_path / 'run'}\n{line}\n")
    assert main(["generate", "--config", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert "per_class" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["1000000000", "0", "-1"])
def test_cli_refuses_a_bad_per_class_flag_with_exit_2(tmp_path, capsys, value):
    assert main(["generate", "--per-class", value, "--out", str(tmp_path / "run"), "--device", "cpu"]) == 2
    assert f"--per-class: must be >= 1 and <= 100000, got {value}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
