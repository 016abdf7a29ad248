"""The CLI's answers to bad input: exit 2 with one message and no traceback for bad counts,
bad config values, missing teacher files, unwritable output folders and bad cards; exit 130
with "interrupted" on Ctrl-C."""

import json

import pytest
import yaml

from dfkd_core import cli
from dfkd_core.cli import generate as generate_command


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("count", ["0", "-1"])
def test_generate_refuses_a_per_class_below_one(tmp_path, capsys, count):
    code, text = _run(capsys, "generate", "--per-class", count, "--out", str(tmp_path / "run"))
    assert code == 2 and "per_class" in text.replace("-", "_") and "Traceback" not in text
    assert "manifest" not in text and not (tmp_path / "run").exists()


def test_a_config_value_of_the_wrong_type_is_a_message(tmp_path, capsys):
    config = tmp_path / "gen.yaml"
    config.write_text(yaml.safe_dump({"out": str(tmp_path / "run"), "per_class": "three"}))
    code, text = _run(capsys, "generate", "--config", str(config))
    assert code == 2 and "per_class" in text and "three" in text and "Traceback" not in text


@pytest.mark.parametrize("source", ["models/missing-teacher.pth", "./teacher", "teachers/wrn_40_2",
                                    "~/no/teacher.json"])
def test_a_missing_teacher_file_is_reported_as_not_found(tmp_path, monkeypatch, capsys, source):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "teachers").mkdir()  # exists partly: a folder of the path is here
    code, text = _run(capsys, "teacher", "inspect", "--checkpoint", source)
    assert code == 2 and ("not found" in text or "No such file" in text)
    assert "Could not load a transformers" not in text


def test_an_owner_name_id_is_still_a_hub_id(capsys):
    code, text = _run(capsys, "teacher", "inspect", "--checkpoint", "some-owner/some-model")
    assert code == 2 and "Could not load a transformers" in text  # offline in the tests: looked up in the local hub cache


def test_ctrl_c_prints_interrupted_and_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate_command, "cmd_generate", interrupted)
    code, text = _run(capsys, "generate", "--out", "x")
    assert code == 130 and "interrupted" in text and "Traceback" not in text


def test_an_output_folder_that_cannot_be_written_is_named(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, text = _run(capsys, "generate", "--per-class", "1", "--classes", "0", "--steps", "2",
                      "--out", str(blocker / "run"))
    errors = [line.split("error:", 1)[1] for line in text.splitlines() if "error:" in line]  # (after tqdm's \r)
    # (not "Traceback" in text: a library logger may print one for pytest's closed capture streams)
    assert code == 2 and str(blocker) in errors[0] and "NotADirectoryError" not in text


BAD_CARDS = [[1, 2], {"arch": "wrn_16_1"},
             {"arch": "wrn_16_1", "num_classes": "ten", "in_channels": 1, "weights": "w.safetensors"}]


@pytest.mark.parametrize("card", BAD_CARDS)
def test_a_bad_card_is_a_message(tmp_path, capsys, card):
    path = tmp_path / "teacher.json"
    path.write_text(json.dumps(card))
    code, text = _run(capsys, "teacher", "inspect", "--checkpoint", str(path))
    assert code == 2 and "Traceback" not in text
