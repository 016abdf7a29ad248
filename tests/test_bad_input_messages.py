"""Issue 34, parts 3 and 5: messages that say what failed, where and what to do — a full
disk names the file, a card whose `weights` is "." says it must name a file, and an
unexpected error in an API or MCP call reaches the client as a short account, with the
traceback in the log."""

import errno
import logging
import re

import pytest
import torch
from dda_kit import small_model

from dfkd_core.errors import Cancelled, DfkdError, describe
from dfkd_core.io import atomic_write, write_json
from dfkd_core.models.cards import load_card_model
from dfkd_core.models.checkpoints import save_classifier


def disk_full(tmp):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_names_the_file_and_what_to_do(tmp_path):
    with pytest.raises(DfkdError, match=r"Could not write .*scores\.csv: the disk is full: free some space"):
        atomic_write(tmp_path / "scores.csv", disk_full)
    assert not list(tmp_path.iterdir())  # no temporary file left behind


def test_a_folder_that_cannot_be_written_names_the_file(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr("dfkd_core.io._new_temp_file", denied)
    with pytest.raises(DfkdError, match=r"Could not write .*card\.json: permission denied: choose a folder"):
        write_json(tmp_path / "card.json", {"a": 1})


def test_another_os_error_keeps_its_traceback_and_names_the_file(tmp_path):
    def vanished(tmp):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/somewhere/source.png")
    with pytest.raises(FileNotFoundError) as caught:
        atomic_write(tmp_path / "copy.png", vanished)
    assert any("copy.png" in note for note in caught.value.__notes__)


@pytest.mark.parametrize("weights", [".", "./", "sub"])
def test_a_card_naming_a_folder_says_it_must_name_a_weights_file(tmp_path, weights):
    (tmp_path / "sub").mkdir()
    card = {"arch": "small_cnn", "num_classes": 3, "in_channels": 1, "input_size": 32, "mean": [0.5], "std": [0.25],
            "class_names": ["a", "b", "c"]}
    save_classifier(tmp_path / "teacher", small_model(), card)
    text = (tmp_path / "teacher.json").read_text().replace('"teacher.safetensors"', f'"{weights}"')
    (tmp_path / "teacher.json").write_text(text)
    with pytest.raises(DfkdError, match=r"`weights` must name a weights file in the card's own folder.*names a folder"):
        load_card_model(tmp_path / "teacher.json")


def engine_call():
    return torch.zeros(2)[5]  # an IndexError inside the engine's own code


def test_an_unexpected_error_is_described_and_its_traceback_logged(caplog):
    try:
        engine_call()
    except IndexError as e:
        with caplog.at_level(logging.ERROR, logger="dfkd"):
            message = describe(e, "Judging sample set 'demo'")
    assert message.startswith("Judging sample set 'demo' failed: an unexpected IndexError in ")
    assert "test_bad_input_messages.py" in message and "engine_call" in message and "Retry once" in message
    ref = re.search(r"reference ([0-9a-f]{8})", message).group(1)
    record = next(r for r in caplog.records if ref in r.getMessage())
    assert record.exc_info[0] is IndexError  # the detail is in the log, not in the message
    assert "index 5 is out of bounds" not in message


def test_user_errors_memory_and_cancellation_are_described_as_what_to_do():
    assert describe(DfkdError("No samples in x."), "Exporting") == "Exporting failed: No samples in x."
    assert "lower the batch size" in describe(MemoryError(), "Generating")
    assert "out of memory" in describe(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "Generating")
    assert "run it again to resume" in describe(Cancelled(), "Generating")
    assert "check the paths" in describe(OSError(errno.EIO, "I/O error"), "Reading")


def test_the_place_named_is_the_engine_s_own_code_from_the_project_folder():
    from dfkd_core.store import SampleStore
    try:
        SampleStore("/nonexistent").add(None, [], {})
    except AttributeError as e:
        message = describe(e, "Adding samples")
    assert "dfkd_core/store/sample_store.py, line " in message and "/nonexistent" not in message
