"""The results-table tooling (benchmarks/table_runs.py, bench_fmnist_table.py) and the
time-to-student benchmark: mean ± std over seeds, seed folders that reuse seed 0's images,
the equal-compute calibration arithmetic, and the first epoch that reaches a ratio."""

import importlib.util
import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest
import torch
import yaml
from distill_kit import CLASSES, SIZE, quadrant_images, save_image_folder

from dfkd_core.models.checkpoints import save_classifier
from dfkd_core.models.zoo import build_model
from dfkd_core.store import SampleStore

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # bench_fmnist_table imports table_runs as a sibling
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


table_runs, table, tts = load("table_runs"), load("bench_fmnist_table"), load("bench_time_to_student")


@pytest.fixture(scope="module")
def teacher_card(tmp_path_factory):
    """An untrained small_cnn teacher: these tests check the bookkeeping, not what it learns."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("teacher")
    save_classifier(folder / "teacher", build_model("small_cnn", 4, 1).eval(),
                    dict(arch="small_cnn", num_classes=4, in_channels=1, input_size=SIZE, mean=[0.35], std=[0.3],
                         class_names=CLASSES))
    return str(folder / "teacher.json")


def tiny_config(teacher_card, **distill):
    return {"name": "tiny", "teacher": teacher_card, "device": "cpu", "seed": 0, "stages": [
        {"noise": {"count": 24}},
        {"distill": {"student": "resnet8", "epochs": 1, "batch_size": 8, "onnx": False, **distill}}]}


def test_mean_and_sample_std_over_seeds_and_single_seed_rows():
    assert table_runs.format_mean_std([0.90, 0.92, 0.94]) == "92.00 ± 2.00%"  # sample std (n - 1): 0.02
    assert table_runs.format_mean_std([0.9157]) == "91.57%"
    assert table_runs.format_mean_std([0.971, 0.975], digits=1) == "97.3 ± 0.3%"
    assert table_runs.seeds_label(1) == "1 (single seed)" and table_runs.seeds_label(3) == "3"


def test_budget_sizes_the_source_and_precision_and_mixup_reach_only_the_student():
    cfg = table.read_config(BENCH.parent / "configs" / "fmnist-hidfd-1pct.yaml")
    bf16 = dict(table.stages_of(table.apply_budget(cfg, 10000, 30, "synthetic", "bf16")))
    assert bf16["hidfd"]["count"] == 10000 and bf16["distill"]["epochs"] == 30
    assert bf16["distill"]["precision"] == "bf16" and "precision" not in bf16["hidfd"]
    fp32 = dict(table.stages_of(table.apply_budget(cfg, 10000, 30, "synthetic")))
    assert "precision" not in fp32["distill"]  # the default leaves the config (and old run folders) as they were
    assert "mixup" not in fp32["distill"]
    mixed = dict(table.stages_of(table.apply_budget(cfg, 10000, 30, "synthetic", "bf16", mixup=1)))
    assert mixed["distill"]["mixup"] == 1 and "mixup" not in mixed["hidfd"]


def test_table_prints_mean_std_and_marks_single_seed_rows(capsys):
    runs = {"DiffDFKD": [{"student_test_acc": a, "ratio_to_teacher": a / 0.94, "train_images": 2000,
                          "generate_seconds": 300.0, "generate_cpu_seconds": 240.0, "distill_seconds": s,
                          "distill_cpu_seconds": s, "device": "cpu (1 threads)"}
                         for a, s in ((0.90, 60), (0.92, 120))],
            "Noise": [{"student_test_acc": 0.5, "ratio_to_teacher": 0.53, "train_images": 2000, "noise_seconds": 1.0,
                       "distill_seconds": 60}]}
    rows = [(label, table.row_figures(r)) for label, r in runs.items()]
    args = Namespace(budget=2000, epochs=15, seeds=2, clock="wall")
    cal = {"deepinversion": {"knob": "iterations", "value": 96, "fixed_s": 0.8, "per_unit_s": 0.2, "batches": 20}}
    table.print_table(rows, 0.94, args, budget_s=300.0, calibrations=cal)
    out = capsys.readouterr().out
    assert "| DiffDFKD | 91.00 ± 1.41% | 96.8 ± 1.5% | 2 | 2000 | 5.0 min | 1.5 min |" in out
    assert "| Noise | 50.00% | 53.0% | 1 (single seed) |" in out
    assert "300 wall seconds making its images" in out and "iterations = 96" in out
    table.print_table(rows, 0.94, Namespace(budget=2000, epochs=15, seeds=2, clock="cpu"), budget_s=240.0)
    out = capsys.readouterr().out  # on the CPU clock the image-making column is in CPU minutes
    assert "image making (cpu)" in out and "| DiffDFKD | 91.00 ± 1.41% | 96.8 ± 1.5% | 2 | 2000 | 4.0 min |" in out


def test_seed_folders_reuse_seed_0s_images_and_do_not_regenerate(teacher_card, tmp_path, capsys):
    run_dir = tmp_path / "table" / "noise"
    results = table.run_row("noise", tiny_config(teacher_card), run_dir, Namespace(seeds=2, sources_from=None))
    assert len(results) == 2
    seed1 = tmp_path / "table" / "noise-seed1"
    log = capsys.readouterr().out
    assert "noise seed 1: [1] noise: done earlier, skipped" in log
    assert "noise seed 0: [1] noise ..." in log and "noise seed 1: [1] noise ..." not in log
    assert yaml.safe_load((seed1 / "config.yaml").read_text())["stages"][1]["distill"]["seed"] == 1
    assert "seed" not in yaml.safe_load((run_dir / "config.yaml").read_text())["stages"][1]["distill"]
    done = json.loads((seed1 / "01-noise" / "DONE.json").read_text())
    assert (seed1 / done["store"]).resolve() == (seed1 / "01-noise").resolve()  # the copy, not seed 0's folder
    a, b = SampleStore(run_dir / "01-noise").load(), SampleStore(seed1 / "01-noise").load()
    assert torch.equal(a.images, b.images)
    student0 = (run_dir / "02-distill" / "student.safetensors").read_bytes()
    assert student0 != (seed1 / "02-distill" / "student.safetensors").read_bytes()  # its own student seed


def test_student_seeds_train_only_the_seeds_named_and_never_before_seed_0s_images(teacher_card, tmp_path):
    run_dir, cfg = tmp_path / "table" / "noise", tiny_config(teacher_card)
    with pytest.raises(SystemExit, match="no finished run"):
        table.run_row("noise", cfg, run_dir, Namespace(seeds=2, sources_from=None, student_seeds=[1]))
    assert table.run_row("noise", cfg, run_dir, Namespace(seeds=2, sources_from=None, student_seeds=[0]))
    assert not (tmp_path / "table" / "noise-seed1").exists()
    [seed1] = table.run_row("noise", cfg, run_dir, Namespace(seeds=2, sources_from=None, student_seeds=[1]))
    assert (tmp_path / "table" / "noise-seed1" / "02-distill" / "DONE.json").exists()


def test_a_seed_folder_refuses_to_make_its_own_images(teacher_card, tmp_path):
    cfg = tiny_config(teacher_card)
    with pytest.raises(SystemExit, match="no finished run"):
        table_runs.copy_sources(tmp_path / "missing", cfg, tmp_path / "noise-seed1", required=True)
    (tmp_path / "seed0").mkdir()
    (tmp_path / "seed0" / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit, match="not finished"):
        table_runs.copy_sources(tmp_path / "seed0", cfg, tmp_path / "noise-seed1", required=True)


def test_calibration_arithmetic():
    fixed, per_unit = table_runs.linear_cost(2, 1.2, 12, 3.2)
    assert fixed == pytest.approx(0.8) and per_unit == pytest.approx(0.2)
    assert table_runs.knob_for_budget(100, 5, fixed, per_unit) == 96  # (100 / 5 - 0.8) / 0.2
    assert table_runs.knob_for_budget(1, 5, fixed, per_unit) == 1  # at least one step
    with pytest.raises(SystemExit, match="too busy"):
        table_runs.knob_for_budget(100, 5, 1.0, -0.01)
    assert table_runs.batches_of({"per_class": 200, "batch_size": 100}, "batch_size", 10) == 20


def test_equal_compute_puts_the_bought_iterations_in_the_config_and_keeps_them(tmp_path, monkeypatch):
    calls = []

    def fake_calibrate(cfg, work_dir, teacher, num_classes, clock="cpu", log=print):
        calls.append(clock)
        return {"knob": "iterations", "fixed_s": 0.8, "per_unit_s": 0.2, "timings": {2: 1.2, 12: 3.2}}

    monkeypatch.setattr(table_runs, "calibrate", fake_calibrate)
    cfg = {"teacher": "demo", "stages": [{"deepinversion": {"per_class": 200, "iterations": 50, "batch_size": 100}},
                                         {"distill": {"epochs": 15}}]}
    got, cal = table_runs.equal_compute(cfg, 400.0, tmp_path, "deepinversion", None, 10)
    assert got["stages"][0]["deepinversion"]["iterations"] == 96 and cal["batches"] == 20  # (400/20 - 0.8)/0.2
    assert cfg["stages"][0]["deepinversion"]["iterations"] == 50  # the shipped config is left as it was
    again, _ = table_runs.equal_compute(cfg, 400.0, tmp_path, "deepinversion", None, 10)
    assert again == got and len(calls) == 1  # a rerun resumes with the recorded number, no new timing
    table_runs.equal_compute(cfg, 500.0, tmp_path, "deepinversion", None, 10)
    assert len(calls) == 2  # another budget is calibrated anew
    table_runs.equal_compute(cfg, 500.0, tmp_path, "deepinversion", None, 10, clock="wall")
    assert calls == ["cpu", "cpu", "wall"]  # and so is another clock
    assert json.loads((tmp_path / "calibration.json").read_text())["deepinversion"]["clock"] == "wall"
    noise = {"stages": [{"noise": {"count": 10}}, {"distill": {}}]}
    assert table_runs.equal_compute(noise, 400.0, tmp_path, "noise", None, 10) == (noise, None)


def test_stages_record_cpu_seconds_that_waiting_does_not_add_to(teacher_card, tmp_path, monkeypatch):
    """Equal compute counts CPU seconds by default: a stage that waits (as it does when other
    jobs hold the cores) adds wall seconds but no CPU seconds."""
    import time
    from dataclasses import replace

    from dfkd_core.pipeline.run import run_pipeline
    from dfkd_core.pipeline.stages import STAGES

    real_noise = STAGES["noise"].run

    def waiting_noise(settings, ctx):
        time.sleep(0.6)
        return real_noise(settings, ctx)

    monkeypatch.setitem(STAGES, "noise", replace(STAGES["noise"], run=waiting_noise))
    cfg = tiny_config(teacher_card)
    ctx = run_pipeline(cfg, tmp_path / "run", log=lambda m: None)
    wall, cpu = ctx.results["noise_seconds"], ctx.results["noise_cpu_seconds"]
    assert wall >= 0.6 and cpu < wall - 0.4
    assert table_runs.source_seconds(tmp_path / "run", "wall") == wall
    assert table_runs.source_seconds(tmp_path / "run", "cpu") == cpu  # the default clock
    assert table_runs.image_seconds(ctx.results) == wall  # the distill stage and the CPU keys not counted
    assert table_runs.image_seconds(ctx.results, "cpu") == cpu
    done = tmp_path / "run" / "01-noise" / "DONE.json"
    record = json.loads(done.read_text())
    del record["results"]["noise_cpu_seconds"]  # a run made before CPU seconds were recorded
    done.write_text(json.dumps(record))
    with pytest.raises(SystemExit, match="--clock wall"):
        table_runs.source_seconds(tmp_path / "run", "cpu")


def test_calibration_times_the_real_stage_on_one_batch(teacher_card, tmp_path):
    cfg = {"teacher": teacher_card, "device": "cpu", "seed": 0, "stages": [
        {"deepinversion": {"per_class": 50, "iterations": 50, "batch_size": 8}}, {"distill": {"epochs": 1}}]}
    cal = table_runs.calibrate(cfg, tmp_path, None, 4, log=lambda m: None)
    assert cal["knob"] == "iterations" and set(cal["timings"]) == {2, 12}
    store = SampleStore(tmp_path / "iterations-2" / "01-deepinversion")
    assert len(store.manifest()) == 8  # one batch (per_class 2 x 4 classes), not the row's 200 images


def test_time_to_student_finds_the_first_epoch_at_each_ratio():
    evals = [(60.0, 1, 0.50), (90.0, 2, 0.86), (120.0, 3, 0.85), (150.0, 4, 0.91)]
    got = tts.first_crossings(evals, 0.94, [0.90, 0.97])
    assert got[0.90] == (90.0, 2, 0.86)  # 0.86 >= 0.846; the later dip does not move it
    assert got[0.97] is None  # 0.91 < 0.9118
    lines = tts.describe("unguided", {"evals": evals, "crossings": got, "stopped_by": "the 30-min cap",
                                      "elapsed": 1800.0, "source_seconds": 30.0}, [0.90, 0.97], 30)
    assert "1.5 min (epoch 2, full-test acc 86.00%)" in lines[1]
    assert lines[2] == "  >= 0.97 of the teacher: not reached in 30 min (best 91.00%)"


def test_time_to_student_stops_once_every_ratio_is_reached(teacher_card, tmp_path):
    data = save_image_folder(quadrant_images(40, 3), tmp_path / "data" / "test")
    cfg = tiny_config(teacher_card, epochs=4, eval=str(data.parent), eval_split="test")
    result = tts.time_method("noise", cfg, tmp_path / "run", teacher_acc=1.0, ratios=[0.0], max_seconds=600)
    assert result["stopped_by"] == "every ratio reached" and len(result["evals"]) == 1  # not 4 epochs
    assert result["crossings"][0.0][1] == 1


def test_time_to_student_in_bf16_sets_the_sampler_and_the_student_and_nothing_else():
    stages = lambda cfg: {name: s for st in cfg["stages"] for name, s in st.items()}  # noqa: E731
    fp32 = stages(tts.timed_config("diffdfkd", 1000, 5))
    assert "precision" not in fp32["generate"] and "precision" not in fp32["distill"]
    assert "eval_subset" not in fp32["distill"] and fp32["distill"]["onnx"] is False
    bf16 = stages(tts.timed_config("diffdfkd", 1000, 5, "bf16"))
    assert bf16["generate"]["precision"] == bf16["distill"]["precision"] == "bf16"
    assert stages(tts.timed_config("unguided", 1000, 5, "bf16"))["unguided"]["precision"] == "bf16"
    assert "precision" not in stages(tts.timed_config("deepinversion", 1000, 5, "bf16"))["deepinversion"]
