"""The sample store: append-only rows in metadata.csv, settings written once, validation
of rows and images on read, old manifest.csv stores, Hugging Face `datasets` loading; and
the permissions of what the engine writes."""

import importlib
import os
import stat

import torch

import dfkd_core.io


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_importing_io_leaves_the_umask_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "umask", lambda *a: calls.append(a) or 0o022)
    importlib.reload(dfkd_core.io)
    assert calls == []


def test_weights_and_files_get_the_permissions_of_the_current_umask(tmp_path):
    old = os.umask(0o027)
    try:
        dfkd_core.io.save_state_dict(tmp_path / "w.safetensors", {"a": torch.zeros(2)})
        dfkd_core.io.write_json(tmp_path / "card.json", {"a": 1})
        os.umask(0o022)
        dfkd_core.io.save_state_dict(tmp_path / "w2.safetensors", {"a": torch.zeros(2)})
        dfkd_core.io.torch_save(tmp_path / "t.pt", {"a": 1})
    finally:
        os.umask(old)
    assert _mode(tmp_path / "w.safetensors") == 0o640 and _mode(tmp_path / "card.json") == 0o640
    assert _mode(tmp_path / "w2.safetensors") == 0o644 and _mode(tmp_path / "t.pt") == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
