"""What `dfkd generate` prints (#33.3, #33.6): its progress bar and its result, and no warning a
user cannot act on (diffusers warned at every load that a fp32 model was cast with to())."""

import subprocess
import sys

from tiny_models import tiny_generate_kit


def test_generate_prints_its_bar_and_result_and_no_library_warning(tmp_path):
    kit = tiny_generate_kit(tmp_path / "kit")
    proc = subprocess.run([sys.executable, "-m", "dfkd_core.cli", "generate", "--teacher", kit["teacher"],
                           "--backbone", kit["backbone"], "--per-class", "2", "--batch-size", "2", "--steps", "2",
                           "--candidates", "1", "--device", "cpu", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "should be kept in float32" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert "generate: 100%" in proc.stderr and "6/6" in proc.stderr and "img" in proc.stderr
    assert "6 samples in" in proc.stdout and "metadata.csv" in proc.stdout
