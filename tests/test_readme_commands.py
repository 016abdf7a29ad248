"""The README's commands work as written (#33.1): every line of a ```bash block that starts
with `dfkd ` runs, in order, in one temporary folder (DFKD_RUNS_DIR there, `configs/` linked
in), through `python -m dfkd_core.cli`, and must exit 0. No example may write outside runs/.

Marker convention (keep it when the README is rewritten): a command is shrunk to test size by
a trailing comment whose last part is `test: TOKENS`, e.g.

    dfkd generate --per-class 20 --out runs/gen1   # 200 samples; test: --per-class 2 --steps 3
    dfkd run configs/x.yaml                        # test: generate.per_class=2 distill.epochs=1

TOKENS that look like `stage.key[.key]=value` (YAML value) change that setting in a copy of a
`dfkd run` command's config (the first stage of that name); the other TOKENS are flags
appended to the command (a later flag wins over the README's). A command without the marker
runs as written."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import needs_fmnist

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
OUTPUT_FLAGS = ("--out", "--export", "--scores-out", "--scores", "--work-dir")  # what a command writes, relative to the cwd


def readme_commands(text: str) -> list[tuple[list[str], list[str]]]:
    """[(argv after `dfkd`, marker tokens)] of the `dfkd ` lines of every ```bash block."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line.startswith("dfkd "):
                continue
            argv = shlex.split(line, comments=True)
            marker = re.search(r"#.*?\btest:(.*)$", line)
            out.append((argv[1:], shlex.split(marker.group(1)) if marker else []))
    return out


def shrunk_config(path: Path, overrides: list[str], dest: Path) -> Path:
    """A copy of run config `path` with `stage.key.sub=value` overrides, written to dest/."""
    cfg = yaml.safe_load(path.read_text())
    for item in overrides:
        keys, value = item.split("=", 1)
        stage, *keys = keys.split(".")
        settings = next(st[stage] for st in cfg["stages"] if stage in st)
        for key in keys[:-1]:
            settings = settings.setdefault(key, {})
        settings[keys[-1]] = yaml.safe_load(value)
    dest.mkdir(exist_ok=True)
    (dest / path.name).write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest / path.name


def test_the_readme_has_examples_of_every_kind():
    commands = {argv[0] for argv, _ in readme_commands(README.read_text())}
    assert {"generate", "judge", "sweep", "augment", "filter", "hidfd", "run", "distill"} <= commands


def test_the_readme_puts_dfkd_on_the_path_before_its_first_example():
    text = README.read_text()
    assert "source .venv/bin/activate" in text
    assert text.index("source .venv/bin/activate") < text.index("\ndfkd ")
    assert (Path(sys.executable).parent / "dfkd").is_file(), "the set-up's venv has no dfkd command"


def test_no_example_writes_outside_runs():
    for argv, marker in readme_commands(README.read_text()):
        for flag, value in zip(argv, argv[1:]):
            if flag in OUTPUT_FLAGS:
                assert value.startswith("runs/"), f"dfkd {shlex.join(argv)} writes {value}, outside runs/"


@pytest.mark.slow  # minutes: every example, shrunk, in a fresh process
@needs_fmnist  # the examples judge and evaluate on real Fashion-MNIST
def test_every_readme_command_exits_0(tmp_path):
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    env = {**os.environ, "DFKD_RUNS_DIR": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1"}
    for argv, marker in readme_commands(README.read_text()):
        overrides = [t for t in marker if re.match(r"^[a-z_]+(\.[a-z_]+)+=", t)]
        flags = [t for t in marker if t not in overrides]
        if overrides:
            config = next(a for a in argv[1:] if a.endswith((".yaml", ".yml")))
            argv = [str(shrunk_config(tmp_path / config, overrides, tmp_path / "shrunk")) if a == config else a
                    for a in argv]
        proc = subprocess.run([sys.executable, "-m", "dfkd_core.cli", *argv, *flags], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, f"dfkd {shlex.join(argv + flags)} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
