"""The layers of the engine (DESIGN.md, "Layout") as import-linter contracts, kept in
pyproject.toml [tool.importlinter] by package: the engine never imports the app, each layer
imports only the layers below it (every package of dfkd_core is placed: a new one must be),
the methods sit above their shared parts, and no import cycle at any depth. This test runs
`lint-imports` and fails when a contract is broken."""

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
    for contract in ("Engine layers: each imports only the layers below it", "No import cycles, at any depth",
                     "Methods: each whole in its folder; shared parts below them"):
        assert f"{contract} KEPT" in result.stdout
    assert "0 broken" in result.stdout


def test_a_cycle_is_reported(tmp_path):
    """The cycle check can fail: a package whose modules import each other is BROKEN."""
    pkg = tmp_path / "loop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from loop import b\n")
    (pkg / "b.py").write_text("from loop import a\n")
    config = tmp_path / "cycle.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["loop"]\n\n[[tool.importlinter.contracts]]\n'
                      'name = "no cycles"\ntype = "acyclic_siblings"\nancestors = ["loop"]\n')
    exe = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(exe), "--no-cache", "--config", str(config)], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "BROKEN" in result.stdout


def test_a_broken_contract_fails(tmp_path):
    """The check can fail: the filter does import the store, so forbidding it is reported."""
    config = tmp_path / "broken.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["dfkd_core"]\n\n[[tool.importlinter.contracts]]\n'
                      'name = "filter without store"\ntype = "forbidden"\nsource_modules = ["dfkd_core.filter.scores"]\n'
                      'forbidden_modules = ["dfkd_core.store"]\n')
    result = lint_imports("--config", str(config))
    assert result.returncode != 0 and "BROKEN" in result.stdout
