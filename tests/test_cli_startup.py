"""The CLI answers at once (#33.2, #33.5f): building the parser, every `--help`, and the refusal
of a teacher path that does not exist import no heavy library (torch, diffusers, gradio, ...).
Checked on sys.modules in a fresh process, never timed (benchmarks/bench_cli_startup.py times it)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "diffusers", "transformers", "gradio", "pandas", "numpy", "PIL", "tqdm", "safetensors")


def heavy_after(code: str, tmp_path) -> dict:
    """Run `code` in a fresh interpreter; {"heavy": [...], "out": ...} of what it imported and printed."""
    script = (f"import sys, io, contextlib, json\nbuf = io.StringIO()\n"
              f"with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):\n"
              + "".join(f"    {line}\n" for line in code.splitlines())
              + f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], 'out': buf.getvalue()}}))\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def commands() -> list[list[str]]:
    import argparse

    from dfkd_core.cli import build_parser

    def walk(parser, path):
        yield path
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, path + [name])
    return list(walk(build_parser(), []))


def test_building_the_parser_and_every_help_import_nothing_heavy(tmp_path):
    code = ("from dfkd_core.cli import main\n"
            f"for argv in {commands()!r}:\n"
            "    try:\n"
            "        main(argv + ['--help'])\n"
            "    except SystemExit as e:\n"
            "        assert e.code == 0, argv\n")
    result = heavy_after(code, tmp_path)
    assert result["heavy"] == []
    assert "dfkd hidfd" in result["out"] and "--per-class" in result["out"]


@pytest.mark.parametrize("argv", [
    ["teacher", "inspect", "--checkpoint", "{missing}"],
    ["generate", "--teacher", "{missing}", "--out", "run"],
    ["distill", "--samples", "x", "--teacher", "{missing}", "--out", "run"],
    ["hidfd", "--teacher", "{missing}", "--out", "run"],
    ["augment", "store", "--teacher", "{missing}"],
    ["filter", "store", "--teacher", "{missing}"],
    ["judge", "store", "--teacher", "{missing}"],
    ["sweep", "--strengths", "0", "--teacher", "{missing}"],
    ["run", "{config}"],
])
def test_a_teacher_path_that_does_not_exist_is_refused_before_torch_loads(tmp_path, argv):
    (tmp_path / "run.yaml").write_text("name: r\nteacher: models/none.pth\nstages: [{noise: {count: 4}}]\n")
    argv = [a.format(missing="models/none.pth", config="run.yaml") for a in argv]
    result = heavy_after(f"from dfkd_core.cli import main\nassert main({argv!r}) == 2\n", tmp_path)
    assert "Teacher file models/none.pth not found" in result["out"], result["out"]
    assert result["heavy"] == [] and "Traceback" not in result["out"]
    assert not (tmp_path / "run").exists()
