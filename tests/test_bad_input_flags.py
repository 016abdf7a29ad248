"""Every number flag of every command, walked from the parser itself (a new flag is covered
without a new test): not-a-number, infinite, absurdly large or small and non-numeric values
are refused with exit code 2, a message naming the flag, no traceback, before any teacher,
backbone or dataset loads."""

import argparse

import pytest

import dfkd_core.cli as cli
from dfkd_core.cli import build_parser

# the least each command needs to parse; store / config paths need not exist, the flag is refused first
BASE = {
    ("teacher", "inspect"): ["--checkpoint", "demo"],
    ("teacher", "train"): ["--arch", "wrn_16_1", "--out", "{tmp}/t.safetensors"],
    ("generate",): ["--out", "{tmp}/gen"],
    ("run",): ["{tmp}/config.yaml"],
    ("distill",): ["--out", "{tmp}/student"],
    ("hidfd",): ["--out", "{tmp}/hidfd"],
    ("augment",): ["{tmp}/store"],
    ("filter",): ["{tmp}/store"],
    ("judge",): ["{tmp}/store"],
    ("export",): ["{tmp}/store", "--out", "{tmp}/export", "--format", "hf"],
    ("sweep",): ["--out", "{tmp}/sweep.png"],
}
BAD = {int: ["nan", "inf", "abc", "1.5", "-99999999999999999999", "99999999999999999999"],
       float: ["nan", "inf", "-inf", "abc", "-1e300", "1e300"]}


def _commands(parser, path=()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _commands(sub, (*path, name))


def _number_flags():
    for path, parser in _commands(build_parser()):
        for action in parser._actions:
            kind = {"int": int, "float": float}.get(getattr(action.type, "__name__", None))
            if action.option_strings and kind is not None and not action.choices:
                for value in BAD[kind]:
                    yield pytest.param(path, action.option_strings[-1], value,
                                       id=f"{' '.join(path)} {action.option_strings[-1]}={value}")


CASES = list(_number_flags())


def test_every_command_is_walked():
    assert {path for path, _ in _commands(build_parser())} == set(BASE)
    assert len(CASES) > 500


@pytest.fixture
def no_loading(monkeypatch):
    """Any teacher, backbone or dataset load fails the test: the flag must be refused first."""
    import dfkd_core.data.datasets as datasets
    import dfkd_core.diffusion.loading as backbones
    import dfkd_core.teacher.loading as teachers

    def reached(what):
        def fail(*a, **k):
            raise AssertionError(f"{what} was loaded before the bad flag was refused")
        return fail
    monkeypatch.setattr(teachers, "load_teacher", reached("a teacher"))
    monkeypatch.setattr(backbones, "load_backbone", reached("a backbone"))
    monkeypatch.setattr(datasets, "load_dataset", reached("a dataset"))


@pytest.mark.parametrize("path, flag, value", CASES)
def test_a_bad_number_is_refused_naming_its_flag(path, flag, value, tmp_path, capsys, no_loading):
    argv = [*path, *(a.format(tmp=tmp_path) for a in BASE[path]), f"{flag}={value}"]
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse's own refusal
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, f"dfkd {' '.join(argv)} exited {code}"
    assert "Traceback" not in err
    setting = flag.lstrip("-").replace("-", "_")
    assert flag in err or setting in err or flag.lstrip("-") in err, f"the message does not name {flag}: {err}"
    assert not any(tmp_path.iterdir()), "a refused command left files behind"
