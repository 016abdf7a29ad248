"""Refusals that name what differs (#33.5): a run folder another process is writing (its pid
and command), a refused generate resume (setting, old and new value), a file among HiDFD's
real images that is not an image (named, no half-made run folder), a finished run folder moved
or copied elsewhere (it resumes there), and help that names metadata.csv."""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from PIL import Image
from tiny_models import tiny_generate_kit

from dfkd_core.cli import build_parser, main
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.pipeline.lock import lock_path, run_lock


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return tiny_generate_kit(tmp_path_factory.mktemp("kit"))


def _generate(kit, out, *flags):
    return ["generate", "--teacher", kit["teacher"], "--backbone", kit["backbone"], "--classes", "0", "--per-class",
            "1", "--steps", "2", "--candidates", "1", "--device", "cpu", "--out", out, *flags]


def _noise_config(tmp_path):
    path = tmp_path / "noise.yaml"
    path.write_text(yaml.safe_dump({"name": "noise", "teacher": "demo", "device": "cpu",
                                    "stages": [{"noise": {"count": 4}}]}))
    return path


def test_a_run_another_process_writes_is_refused_naming_it(tmp_path):
    out = tmp_path / "run"
    with run_lock(out, "dfkd run noise.yaml --out run"):
        proc = subprocess.run([sys.executable, "-m", "dfkd_core.cli", "run", str(_noise_config(tmp_path)),
                               "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Another process is writing" in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    assert "dfkd run noise.yaml --out run" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    lock_path(out).write_text(json.dumps({"pid": 2 ** 22 + 1, "command": "dfkd run (killed)"}))  # no flock held
    code, text = _run(capsys, "run", _noise_config(tmp_path), "--out", out)
    assert code == 0, text
    assert (out / "01-noise" / "DONE.json").exists() and not lock_path(out).exists()


def test_a_refused_generate_resume_names_the_setting_and_both_values(kit, tmp_path, capsys):
    out = tmp_path / "gen"
    assert _run(capsys, *_generate(kit, out))[0] == 0
    code, text = _run(capsys, *_generate(kit, out, "--strength", "0.3"))
    assert code == 2 and f"guidance.strength: {GuidanceConfig().strength!r} -> 0.3" in text, text


def test_a_moved_generate_run_resumes_where_it_is(kit, tmp_path, capsys):
    first, moved = tmp_path / "gen", tmp_path / "elsewhere" / "gen"
    assert _run(capsys, *_generate(kit, first))[0] == 0
    moved.parent.mkdir()
    shutil.move(first, moved)
    assert _run(capsys, "generate", "--config", moved / "config.yaml")[0] == 0
    assert not first.exists() and len(pd.read_csv(moved / "metadata.csv")) == 1


def test_a_finished_run_copied_elsewhere_is_recognised_as_finished(tmp_path, capsys):
    config = _noise_config(tmp_path)
    assert _run(capsys, "run", config, "--out", tmp_path / "a")[0] == 0
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    code, text = _run(capsys, "run", tmp_path / "b" / "config.yaml")  # its own config: the run is where it is
    assert code == 0 and "done earlier, skipped" in text and str(tmp_path / "b") in text
    samples = ["distill", "--samples", tmp_path / "a" / "01-noise", "--epochs", "1", "--batch-size", "4",
               "--student", "resnet8", "--no-onnx", "--device", "cpu"]
    assert _run(capsys, *samples, "--out", tmp_path / "d1")[0] == 0
    shutil.copytree(tmp_path / "d1", tmp_path / "d2")  # another folder name: another run name
    code, text = _run(capsys, *samples, "--out", tmp_path / "d2")
    assert code == 0 and "done earlier, skipped" in text, text


def test_a_file_that_is_not_an_image_is_named_and_leaves_no_run_folder(tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    for i in range(3):
        Image.new("L", (28, 28), 40 * i).save(real / f"{i}.png")
    (real / "notes.png").write_text("not an image")
    code, text = _run(capsys, "hidfd", "--out", tmp_path / "run", "--real", real, "--count", "3", "--steps", "1",
                      "--device", "cpu")
    assert code == 2 and "'notes.png'" in text and str(real) in text, text
    assert "BytesIO" not in text and "uploaded images" not in text and "Traceback" not in text
    assert not (tmp_path / "run").exists()


def test_help_names_the_stores_metadata_csv():
    sub = build_parser()._subparsers._group_actions[0].choices
    for command in sub.values():
        assert "manifest.csv" not in command.format_help()
    assert "metadata.csv" in sub["distill"].format_help()
