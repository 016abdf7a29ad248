"""Every script in benchmarks/ runs: each with its smallest settings, in a fresh process, its
runs in a temporary folder. A new script without an entry here fails the first test, so none
is left unrun. These check that the scripts work, not their figures (timings are for people
to read; tests never assert them)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
FMNIST = Path("/usr/share/datasets/fashion-mnist")

# script -> its smallest settings (None: a module the other scripts import, checked by importing it)
SMOKE = {
    "bench_browser.py": ["first_examples"],
    "bench_cli_startup.py": ["--runs", "1"],
    "bench_dda.py": ["--per-class", "1", "--configs", "0.5:0", "--omega", "0.9"],
    "bench_embedding.py": ["--n", "60"],
    "bench_fmnist_table.py": ["--budget", "10", "--epochs", "1", "--only", "noise"],
    "bench_hidfd_gan.py": ["--real", "20", "--minutes", "0.05", "--samples", "20", "--set", "batch_size=8"],
    "bench_per_class.py": None,  # needs finished runs: run after bench_fmnist_table below
    "bench_precision.py": ["--batch", "2", "--repeats", "1", "--per-class", "0"],
    "bench_prior.py": ["--samples", "20"],
    "bench_prior_training.py": ["--steps", "2", "--threads", "1"],
    "bench_sampling.py": ["--per-class", "0", "--batch", "2", "--repeats", "1", "--steps", "2"],
    "bench_scale.py": ["--images", "16", "--batch", "4", "--steps", "2", "--distill-images", "32", "--distill-batch",
                       "8", "--epochs", "1"],
    "bench_shards.py": ["--images", "100", "--shard-size", "50", "--shuffle", "10"],
    "bench_store.py": ["--big", "200", "--small", "20", "--repeats", "1"],
    "bench_time_to_student.py": ["--images", "20", "--epochs", "1", "--methods", "unguided", "--max-minutes", "1"],
    "compare_revisions.py": ["--before", "HEAD", "--per-class", "1", "--steps", "2"],
    "table_runs.py": None,
}
NEEDS_DATA = {"bench_dda.py", "bench_embedding.py", "bench_fmnist_table.py", "bench_hidfd_gan.py", "bench_prior.py",
              "bench_sampling.py", "bench_precision.py", "bench_time_to_student.py", "bench_browser.py"}


def run(script: str, args: list, runs: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DFKD_RUNS_DIR": str(runs), "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    return subprocess.run([sys.executable, str(BENCH / script), *args], cwd=runs, env=env, capture_output=True,
                          text=True, timeout=900)


def test_every_benchmark_script_has_smoke_settings():
    assert sorted(p.name for p in BENCH.glob("*.py")) == sorted(SMOKE)


@pytest.mark.slow
@pytest.mark.parametrize("script", [s for s, args in SMOKE.items() if args is not None])
def test_benchmark_runs_with_its_smallest_settings(script, tmp_path):
    if script in NEEDS_DATA and not FMNIST.is_dir():
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    if script == "bench_browser.py" and not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Chromium (apt-get install chromium)")
    if script == "compare_revisions.py" and not (ROOT / ".git").exists():
        pytest.skip("compares two git revisions of a checkout")
    done = run(script, SMOKE[script], tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip(), "a benchmark prints its figures"


@pytest.mark.slow
def test_per_class_reads_a_finished_table_run(tmp_path):
    if not FMNIST.is_dir():
        pytest.skip("needs Fashion-MNIST")
    assert run("bench_fmnist_table.py", SMOKE["bench_fmnist_table.py"], tmp_path).returncode == 0
    folders = [str(p) for p in tmp_path.glob("table-*/*") if (p / "results.json").exists()]
    done = run("bench_per_class.py", folders, tmp_path)
    assert folders and done.returncode == 0, done.stderr[-3000:]


def test_the_library_the_table_scripts_share_imports():
    sys.path.insert(0, str(BENCH))
    try:
        import table_runs
        assert callable(table_runs.read_config)
    finally:
        sys.path.remove(str(BENCH))
