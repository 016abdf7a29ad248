"""Settings checked before any work: one unknown-key check with "did you mean", numbers that
must be finite and in range (#17.12, through the API and the CLI), a whole run config
checked, datasets included (#17.4), before its first image is made; a loss that stops being
finite stops the run with a clear error instead of exporting a NaN student."""

import math

import pytest
import yaml
from distill_kit import quadrant_images, save_image_folder, train_teacher
from fake_cifar import fake_cifar10

from dfkd_core.cli import main
from dfkd_core.distill.config import DistillConfig, TrainConfig
from dfkd_core.errors import DfkdError
from dfkd_core.pipeline.checks import check_run
from dfkd_core.pipeline.run import run_pipeline
from dfkd_core.settings import check_keys, integer, number


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("kit")
    save_image_folder(quadrant_images(40, 11), root / "data" / "test")
    return train_teacher(root), root / "data"


def test_unknown_keys_are_named_with_the_closest_known_one():
    with pytest.raises(DfkdError, match=r"stage 1: unknown settings 'epohcs' \(did you mean 'epochs'\?\)"):
        check_keys({"epohcs": 3, "lr": 0.1}, {"epochs", "lr"}, "stage 1")
    with pytest.raises(DfkdError, match="unknown settings 'zzz'; expected some of epochs, lr"):
        check_keys({"zzz": 1}, {"epochs", "lr"}, "x")
    with pytest.raises(DfkdError, match="expected a mapping"):
        check_keys([1], {"a"}, "x")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, "3", None])
def test_numbers_must_be_finite_numbers(value):
    with pytest.raises(DfkdError, match="lr must be"):
        number(value, "lr", "distill")


def test_number_ranges_and_whole_numbers():
    assert number(0.5, "x", "w", low=0, high=1) == 0.5 and integer(3.0, "n", "w") == 3
    with pytest.raises(DfkdError, match="x must be > 0, got 0"):
        number(0, "x", "w", low=0, low_open=True)
    with pytest.raises(DfkdError, match="n must be a whole number, got 2.5"):
        integer(2.5, "n", "w")


@pytest.mark.parametrize("field", ["lr", "temperature", "weight_decay", "kd_weight", "ce_weight", "mixup"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_distill_settings_refuse_nan_and_infinity_through_the_api(field, value):
    with pytest.raises(DfkdError, match=f"{field} must be a finite number"):
        DistillConfig(**{field: value})


def test_train_settings_refuse_bad_values():
    with pytest.raises(DfkdError, match="label_smoothing must be"):
        TrainConfig(label_smoothing=math.nan)
    with pytest.raises(DfkdError, match="epochs must be a whole number"):
        TrainConfig(epochs="three")


def _config(teacher_card, data_dir, **distill):
    return {"name": "s", "teacher": str(teacher_card), "device": "cpu",
            "stages": [{"noise": {"count": 32}},
                       {"distill": {"student": "resnet8", "epochs": 1, "batch_size": 32, "eval": str(data_dir),
                                    "onnx": False, **distill}}]}


@pytest.mark.parametrize("flag", ["--lr", "--temperature"])
def test_dfkd_distill_refuses_nan_before_any_work(kit, tmp_path, capsys, flag):
    teacher_card, data_dir = kit
    src = tmp_path / "src"
    run_pipeline({"teacher": str(teacher_card), "device": "cpu", "stages": [{"noise": {"count": 16}}]}, src)
    args = ["distill", "--samples", str(src / "01-noise"), "--teacher", str(teacher_card), "--student", "resnet8",
            "--epochs", "1", "--no-onnx", "--device", "cpu", "--out", str(tmp_path / "d")]
    assert main([*args, flag, "nan"]) == 2
    assert "must be a finite number, got nan" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("bad, message", [
    ({"lr": math.nan}, "stage 2 'distill': lr must be a finite number"),
    ({"epochs": "three"}, "stage 2 'distill': epochs must be a whole number, got 'three'"),
    ({"temprature": 2.0}, "unknown settings 'temprature' (did you mean 'temperature'?)"),
    ({"eval": "cifar10"}, "CIFAR10 not found"),
    ({"real_repeat": 2}, "no stage before it collects real images"),
])
def test_a_whole_config_is_checked_before_its_first_image(kit, tmp_path, capsys, bad, message):
    teacher_card, data_dir = kit
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(teacher_card, data_dir, **bad)))
    assert main(["run", str(path), "--out", str(tmp_path / "run"), "--data-dir", str(tmp_path / "empty")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # the noise stage made nothing


def test_names_at_every_level_get_a_suggestion(kit):
    teacher_card, data_dir = kit
    cfg = _config(teacher_card, data_dir)
    for change, message in [(lambda c: c.update(teachr=c.pop("teacher")), "'teachr' (did you mean 'teacher'?)"),
                            (lambda c: c["stages"].insert(0, {"nosie": {}}), "'nosie' (did you mean 'noise'?)"),
                            (lambda c: c["stages"][0].update(noise={"cuont": 3}), "did you mean 'count'?"),
                            (lambda c: c["stages"].insert(0, {"generate": {"guidance": {"strenght": 0.1}}}),
                             "guidance: unknown settings 'strenght' (did you mean 'strength'?)"),
                            (lambda c: c["stages"].insert(0, {"hidfd": {"gan": {"step": 3}}}),
                             "gan: unknown settings 'step' (did you mean 'steps'?)")]:
        bad = yaml.safe_load(yaml.safe_dump(cfg))
        change(bad)
        with pytest.raises(DfkdError) as e:
            check_run(bad)
        assert message in str(e.value)


def test_eval_datasets_are_found_through_data_dir(kit, tmp_path):
    teacher_card, _ = kit
    cfg = _config(teacher_card, "cifar10", download=False)
    with pytest.raises(DfkdError, match="CIFAR10 not found"):
        check_run(cfg, data_dir=tmp_path / "empty")
    check_run(cfg, data_dir=fake_cifar10(tmp_path / "data"))  # `download` is a distill setting too


def test_a_diverging_loss_stops_the_run_without_exporting(kit, tmp_path):
    teacher_card, data_dir = kit
    with pytest.raises(DfkdError, match="training loss became (nan|inf)"):
        run_pipeline(_config(teacher_card, data_dir, lr=10.0, kd_weight=1000.0, epochs=2, batch_size=8), tmp_path / "run")
    assert not (tmp_path / "run" / "02-distill" / "student.safetensors").exists()
    assert not (tmp_path / "run" / "02-distill" / "DONE.json").exists()


def test_download_happens_before_any_work(kit, tmp_path, monkeypatch, capsys):
    """--download fetches a missing eval dataset up front (here a stand-in for torchvision's download)."""
    import dfkd_core.data.cifar as cifar
    teacher_card, _ = kit
    out, seen = tmp_path / "run", []

    def fake_download(key, folder):
        seen.append((key, out.exists()))
        fake_cifar10(folder)

    monkeypatch.setattr(cifar, "download", fake_download)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(teacher_card, "cifar10")))
    # The quadrant teacher has 4 classes, CIFAR-10 10: refused once the teacher is loaded, before any
    # image is made, after the download.
    assert main(["run", str(path), "--out", str(out), "--data-dir", str(tmp_path / "data"), "--download"]) == 2
    assert seen == [("cifar10", False)] and not out.exists()
    assert "the eval set cifar10 has 10 classes but the teacher has 4" in capsys.readouterr().err


@pytest.mark.parametrize("stage, message", [
    ({"noise": {"std": math.inf}}, "stage 2 'noise': std must be a finite number"),
    ({"deepinversion": {"iterations": 0}}, "stage 2 'deepinversion': iterations must be >= 1"),
    ({"augment": {"strength": 2}}, "stage 2 'augment': strength must be > 0 and <= 1, got 2"),
    ({"filter": {"omega": math.nan}}, "stage 2 'filter': omega must be a finite number"),
    ({"hidfd": {"gan": {"steps": 0}}}, "stage 2 'hidfd': gan: steps must be >= 1"),
    ({"hidfd": {"count": "many"}}, "stage 2 'hidfd': count must be a whole number"),
    ({"samples": {"path": "/no/such/set"}}, "stage 2 'samples': No sample store"),
    ({"generate": {"per_class": "three"}}, "stage 2 'generate'"),
    ({"generate": {"guidance": {"strength": math.nan}}}, "strength must be a finite number"),
    ({"generate": {"backbone": "/no/such/prior"}}, "backbone '/no/such/prior' does not exist"),
])
def test_every_stage_is_checked_up_front(stage, message):
    with pytest.raises(DfkdError) as e:
        check_run({"teacher": "demo", "device": "cpu", "stages": [{"noise": {"count": 3}}, stage, {"distill": {}}]})
    assert message in str(e.value)
