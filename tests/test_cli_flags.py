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


def _subparsers():
    return build_parser()._subparsers._group_actions[0].choices


def test_no_parser_restates_a_default():
    import re
    from pathlib import Path

    import dfkd_core.cli as cli
    for path in Path(cli.__file__).parent.glob("*.py"):
        if path.name != "flags.py":
            for call in re.findall(r"add_argument\((?:[^()]|\([^()]*\))*\)", path.read_text()):
                assert "default=" not in call, f"{path.name} restates a default: {call}"


def test_every_distill_flag_shows_its_declared_help_default_and_range():
    from dfkd_core.cli.flags import range_text
    from dfkd_core.distill.config import DistillSettings
    actions = {a.dest: a for a in _subparsers()["distill"]._actions}
    for f, default in scalar_fields(DistillSettings, ("data_dir", "download", "real_repeat")):
        text = actions[f.name].help.replace("%%", "%")
        assert text.startswith(declaration(f)["help"]), f.name
        if default is not None and not isinstance(default, bool):
            assert f"default {default:g}" in text if isinstance(default, float) else f"default {default}" in text
        assert range_text(declaration(f)) in text
    assert "(default 20; 1 to 10000)" in actions["epochs"].help  # the words, as a reader sees them


def test_a_cli_option_out_of_its_declared_range_is_refused_naming_the_flag(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["export", "store", "--format", "hf", "--out", "x", "--shard-size", "0"])
    assert e.value.code == 2 and "--shard-size: must be >= 1 and <= 100000, got 0" in capsys.readouterr().err


def test_hidfd_flags_build_the_stages_defaults_from_their_dataclasses():
    from dfkd_core.cli.hidfd import build_config
    from dfkd_core.cli.options import HiDFDStudentOptions
    from dfkd_core.methods.hidfd.config import HiDFDSettings
    args = build_parser().parse_args(["hidfd", "--out", "runs/h", "--steps", "5", "--no-cfs", "--student", "wrn_16_1"])
    cfg = build_config(args)
    hidfd, distill = cfg["stages"][0]["hidfd"], cfg["stages"][1]["distill"]
    assert hidfd == {"real": {"count": HiDFDSettings().real.count}, "gan": {"steps": 5, "cfs": False}}
    assert distill == {"student": "wrn_16_1", "real_repeat": HiDFDStudentOptions().real_repeat} and "seed" not in cfg
