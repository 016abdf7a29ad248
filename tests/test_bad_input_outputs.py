"""Issue 34, part 1: an output a user names never replaces a file the project did not write
(`dfkd filter STORE --scores /etc/passwd` made passwd a CSV), unless asked to overwrite, and
nothing is written outside the paths named."""

import json

import pytest
import torch
from dda_kit import (
    NAMES,
    small_model,
    small_teacher,
    store_with_variations,
    teacher_card,
)
from PIL import Image

from dfkd_core.cli import main
from dfkd_core.errors import DfkdError
from dfkd_core.filter import scores as filtering
from dfkd_core.io import check_output, write_output
from dfkd_core.judges.grid import save_grid
from dfkd_core.judges.store import check_judgement_folder, write_judgement
from dfkd_core.methods.diffdfkd.sweep import save_sweep, sweep_paths
from dfkd_core.models.checkpoints import save_classifier
from dfkd_core.store.export import export_store

PASSWD = "root:x:0:0:root:/root:/bin/bash\n"
CARD = {"arch": "small_cnn", "num_classes": 3, "in_channels": 1, "input_size": 32, "mean": [0.5], "std": [0.25],
        "class_names": NAMES}


def listing(root) -> dict:
    """Every file under root, with its bytes: what a command changed shows as a difference."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def images_and_targets():
    return torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 0, 1, 1, 2, 2])


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    store = store_with_variations(tmp_path_factory.mktemp("scores") / "store")
    return store, filtering.score_store(store, small_teacher())


def test_the_scores_never_replace_a_file_the_project_did_not_write(scored, tmp_path):
    _, scores = scored
    passwd = tmp_path / "passwd"
    passwd.write_text(PASSWD)
    before = listing(tmp_path)
    for call in (lambda: filtering.check_scores_path(passwd), lambda: filtering.write_scores(scores, passwd)):
        with pytest.raises(DfkdError, match=r"passwd already exists and was not written by DFKD Studio.*--overwrite"):
            call()
    assert listing(tmp_path) == before
    filtering.write_scores(scores, passwd, overwrite=True)  # asked to: replaced
    assert passwd.read_text().startswith("id,source_id,variation")


def test_an_earlier_scores_file_is_replaced_without_asking(scored, tmp_path):
    _, scores = scored
    out = tmp_path / "scores.csv"
    filtering.write_scores(scores, out)
    filtering.write_scores(filtering.apply_thresholds(scores, 1.0, 0.0), out)  # a rerun at other thresholds
    assert out.read_text().count("True") == 12 and listing(tmp_path).keys() == {"scores.csv"}


def test_dfkd_filter_leaves_a_file_it_did_not_write_alone(scored, tmp_path, capsys):
    store, _ = scored
    card = teacher_card(tmp_path)
    passwd = tmp_path / "passwd"
    passwd.write_text(PASSWD)
    before = listing(tmp_path)
    for flag in ("--scores-out", "--scores"):  # --scores: the old name, still read
        args = ["filter", str(store.root), "--teacher", card, "--device", "cpu", flag, str(passwd)]
        assert main(args) == 2
        assert "was not written by DFKD Studio" in capsys.readouterr().err
        assert listing(tmp_path) == before
    assert main(["filter", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "--scores-out CSV, --scores CSV output: where the scores CSV is written" in shown


def test_the_judges_grid_and_figures_are_checked_together(tmp_path):
    images, targets = images_and_targets()
    (tmp_path / "judges.json").write_text('{"mine": 1}')
    before = listing(tmp_path)
    with pytest.raises(DfkdError, match="judges.json already exists"):
        check_judgement_folder(tmp_path)
    with pytest.raises(DfkdError, match="judges.json already exists"):
        write_judgement(tmp_path, {"samples": 6}, images, targets, NAMES)
    assert listing(tmp_path) == before  # not even the grid beside it
    grid, figures = write_judgement(tmp_path, {"samples": 6}, images, targets, NAMES, overwrite=True)
    assert json.loads(figures.read_text())["grid"] == str(grid)
    write_judgement(tmp_path, {"samples": 7}, images, targets, NAMES)  # its own files: rewritten
    assert json.loads(figures.read_text())["samples"] == 7 and listing(tmp_path).keys() == {"grid.png", "judges.json"}


def test_a_grid_replaces_only_a_grid_it_wrote(tmp_path):
    images, targets = images_and_targets()
    photo = tmp_path / "photo.png"
    Image.new("RGB", (4, 4), "red").save(photo)
    before = listing(tmp_path)
    with pytest.raises(DfkdError, match="photo.png already exists"):
        save_grid(images, targets, NAMES, photo)
    assert listing(tmp_path) == before
    save_grid(images, targets, NAMES, tmp_path / "grid.png")
    save_grid(images, targets, NAMES, tmp_path / "grid.png", columns=2)
    assert Image.open(tmp_path / "grid.png").size != Image.open(photo).size


def test_the_sweep_refuses_before_writing_either_file(tmp_path):
    image = Image.new("RGB", (10, 10), "white")
    (tmp_path / "sweep.json").write_text('{"my": "notes"}')
    before = listing(tmp_path)
    for call in (lambda: sweep_paths(tmp_path / "sweep.png"), lambda: save_sweep(image, {"rows": []},
                                                                                  tmp_path / "sweep.png")):
        with pytest.raises(DfkdError, match="sweep.json already exists"):
            call()
    assert listing(tmp_path) == before
    with pytest.raises(DfkdError, match="names the grid PNG"):
        sweep_paths(tmp_path / "sweep.jpg")
    save_sweep(image, {"rows": [1]}, tmp_path / "sweep.png", overwrite=True)
    save_sweep(image, {"rows": [2]}, tmp_path / "sweep.png")  # a rerun over its own files
    assert json.loads((tmp_path / "sweep.json").read_text())["rows"] == [2]


def test_an_export_goes_only_into_a_new_or_empty_folder(scored, tmp_path):
    store, _ = scored
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    (tmp_path / "file").write_text("mine")
    before = listing(tmp_path)
    for out in (tmp_path / "mine", tmp_path / "file"):
        with pytest.raises(DfkdError, match="not an empty folder"):
            export_store(store.root, "hf", out)
    assert listing(tmp_path) == before
    export_store(store.root, "webdataset", tmp_path / "new")
    added = set(listing(tmp_path)) - set(before)
    assert added and all(name.startswith("new/") for name in added)


def test_a_classifier_never_replaces_files_it_did_not_write(tmp_path):
    (tmp_path / "student.json").write_text('{"mine": 1}')
    before = listing(tmp_path)
    with pytest.raises(DfkdError, match="student.json already exists"):
        save_classifier(tmp_path / "student", small_model(), CARD)
    assert listing(tmp_path) == before  # the weights beside it are not written either
    save_classifier(tmp_path / "student", small_model(), CARD, overwrite=True)
    save_classifier(tmp_path / "student", small_model(seed=1), CARD)  # its own files: a rerun replaces them
    assert set(listing(tmp_path)) == {"student.json", "student.safetensors"}


def test_a_folder_or_a_link_is_never_an_output(tmp_path):
    (tmp_path / "dir").mkdir()
    target = tmp_path / "target.txt"
    target.write_text("mine")
    (tmp_path / "link.csv").symlink_to(target)
    with pytest.raises(DfkdError, match="is a folder"):
        check_output(tmp_path / "dir", overwrite=True)
    with pytest.raises(DfkdError, match="link.csv already exists"):
        write_output(tmp_path / "link.csv", "a,b\n")
    assert target.read_text() == "mine"
