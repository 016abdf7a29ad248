"""The layers of the engine (DESIGN.md, "Layout") as import-linter contracts, kept in
pyproject.toml [tool.importlinter]: the engine never imports the app, the store is below
every source and the filter, no source imports the filter, the filter and distillation
are leaves. This test runs `lint-imports` and fails when a contract is broken."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")
ROOT = Path(__file__).resolve().parent.parent


def lint_imports(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(exe), "--no-cache", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_import_contracts_are_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "No source of images imports the filter KEPT" in result.stdout


def test_a_broken_contract_fails(tmp_path):
    """The check can fail: the filter does import the store, so forbidding it is reported."""
    config = tmp_path / "broken.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["dfkd_core"]\n\n[[tool.importlinter.contracts]]\n'
                      'name = "filter without store"\ntype = "forbidden"\nsource_modules = ["dfkd_core.filter.scores"]\n'
                      'forbidden_modules = ["dfkd_core.store"]\n')
    result = lint_imports("--config", str(config))
    assert result.returncode != 0 and "BROKEN" in result.stdout
