"""`dfkd generate`'s flags derive from the settings dataclasses: every setting has a flag with
help, the CLI's defaults are the dataclass's, and a flag reaches the config it builds."""

from dataclasses import fields

import pytest

from dfkd_core.cli import build_parser
from dfkd_core.cli.flags import scalar_fields
from dfkd_core.cli.generate import GENERATE_SPECIAL, GUIDANCE_SPECIAL, generate_config
from dfkd_core.methods.diffdfkd.config import GenerateConfig, GuidanceConfig
from dfkd_core.settings import declaration


def parse(*flags):
    return build_parser().parse_args(["generate", "--out", "/tmp/unused-run", "--device", "cpu", *flags])


def test_every_guidance_setting_has_a_flag_with_its_own_help():
    flagged = {f.name for f, _ in scalar_fields(GuidanceConfig, GUIDANCE_SPECIAL)}
    assert flagged | set(GUIDANCE_SPECIAL) == {f.name for f in fields(GuidanceConfig)}
    helpless = [f.name for f, _ in scalar_fields(GuidanceConfig, GUIDANCE_SPECIAL) if not declaration(f)["help"]]
    assert not helpless, f"no help text declared for {helpless}"
    options = {a.dest for a in build_parser()._subparsers._group_actions[0].choices["generate"]._actions}
    assert flagged <= options and {"window_start", "window_end", "cutmix_steps"} <= options


def test_no_flag_means_the_dataclass_defaults():
    cfg = generate_config(parse())
    assert cfg.guidance == GuidanceConfig()
    default = GenerateConfig(out="/tmp/unused-run")
    for f, _ in scalar_fields(GenerateConfig, GENERATE_SPECIAL):
        assert getattr(cfg, f.name) == getattr(default, f.name)


def test_flags_reach_the_config():
    cfg = generate_config(parse("--adv-steps", "3", "--strength", "0.2", "--mode", "full", "--window-end", "0.5",
                                "--per-class", "4", "--backbone", "some/folder"))
    assert (cfg.guidance.adv_steps, cfg.guidance.strength, cfg.guidance.mode) == (3, 0.2, "full")
    assert cfg.guidance.window == (GuidanceConfig().window[0], 0.5)
    assert (cfg.per_class, cfg.backbone) == (4, "some/folder")


def test_a_mistyped_flag_value_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        parse("--adv-steps", "three")
    assert e.value.code == 2
    assert "--adv-steps" in capsys.readouterr().err
