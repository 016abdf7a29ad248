"""Progress in the CLI (#33.3): one bar per phase in whole units, opened at the phase's first
report (no empty bar when nothing is left to do), starting at the work done before (so the
rate is this run's), and an epoch counted once its evaluation is done."""

import io
import re
from pathlib import Path

from conftest import two_class_folder

from dfkd_core.cli import main
from dfkd_core.cli.progress import PhaseBars


def test_images_start_at_the_part_done_before_and_count_whole_images():
    out = io.StringIO()
    bars = PhaseBars(file=out)
    bars("generate", 48, 100)  # a resumed run: 48 were made before this one's first batch
    assert (bars.bar.initial, bars.bar.n, bars.bar.unit) == (48, 48, "img")
    bars("generate", 64, 100)
    assert bars.bar.format_dict["initial"] == 48 and bars.bar.smoothing == 0  # the rate: this run's images
    bars.close()
    assert "64/100" in out.getvalue() and "img" in out.getvalue()


def test_nothing_to_do_prints_no_bar():
    out = io.StringIO()
    PhaseBars(file=out).close()
    assert out.getvalue() == ""


def test_epochs_are_whole_and_count_after_their_evaluation():
    out = io.StringIO()
    bars = PhaseBars(file=out)
    bars("distill", 3.25, 20)  # resumed after 3 epochs, a quarter into the fourth
    assert (bars.bar.initial, bars.bar.n, bars.bar.unit) == (3, 3, "epoch")
    assert bars.shown["epoch"] == "4 at 25%"
    bars("distill", 4.0, 20)  # its batches are done; the evaluation runs
    assert bars.bar.n == 3 and bars.shown["epoch"] == "4 ending (evaluation, checkpoint)"
    bars.metrics("distill", {"epoch": 4, "train_loss": 0.5, "test_acc": 0.9})
    assert bars.bar.n == 4 and "epoch" not in bars.shown and bars.shown["test_acc"] == 0.9
    bars.close()
    assert "4/20" in out.getvalue() and not re.search(r"\d\.\d+/20", out.getvalue())


def test_gan_steps_after_a_resume_rate_only_the_new_steps():
    bars = PhaseBars(file=io.StringIO())
    bars("hidfd gan", 510, 600)  # the checkpoint held 500 steps; the first report comes at 510
    bars("hidfd gan", 520, 600)
    assert (bars.bar.initial, bars.bar.n, bars.bar.unit) == (510, 520, "step")
    bars.close()


def test_teacher_training_shows_whole_epochs_and_a_finished_rerun_no_bar(tmp_path, capsys):
    two_class_folder(tmp_path / "data", {"train": 16, "test": 8})
    args = ["teacher", "train", "--arch", "small_cnn", "--dataset", str(tmp_path / "data"), "--split", "train",
            "--epochs", "2", "--batch-size", "4", "--out", str(tmp_path / "out" / "tiny"),
            "--work-dir", str(tmp_path / "work"), "--device", "cpu"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "2/2" in err and "epoch" in err and not re.search(r"\d\.\d+/2", err)
    assert main(args) == 0  # finished: nothing to train, so no bar
    assert "train:" not in capsys.readouterr().err


def test_a_long_demo_run_says_its_expected_time_before_it_starts(capsys):
    import yaml

    from dfkd_core.cli.estimate import estimate, print_estimate
    config = Path(__file__).resolve().parents[1] / "configs" / "fmnist-hidfd-1pct.yaml"
    cfg = {**yaml.safe_load(config.read_text()), "device": "cpu"}
    phases = {phase: what for phase, _, what in estimate(cfg)}
    assert phases == {"hidfd GAN": "600 steps", "hidfd samples": "2,000 images",
                      "distillation": "30 epochs of 8,000 images"}  # 2,000 samples + 600 real x 10
    print_estimate(cfg)
    line = capsys.readouterr().out
    assert line.startswith("expected on a 2-core CPU") and "hidfd GAN ~" in line and "distillation ~" in line
    assert estimate({**cfg, "teacher": "my-teacher.json"}) == []  # no figures for other models: no guess


def test_an_epoch_of_one_batch_is_not_counted_before_its_evaluation():
    bars = PhaseBars(file=io.StringIO())
    bars("distill", 1.0, 2)  # the first report: epoch 1's only batch is done, its evaluation not yet
    assert (bars.bar.initial, bars.bar.n, bars.shown["epoch"]) == (0, 0, "1 ending (evaluation, checkpoint)")
    bars.metrics("distill", {"epoch": 1})
    bars("distill", 2.0, 2)
    bars.metrics("distill", {"epoch": 2})
    assert bars.bar.n == 2 and bars.shown["then"] == "final evaluation, export"
    bars.close()
