#!/usr/bin/env bash
# Every shipped config (configs/*.yaml) in tiny form through `dfkd run` on a GPU, where the
# diffusion backbones load in bfloat16 (their CUDA default): PASS/FAIL per config, exit 1
# on any failure. Tiny form: the budgets of tests/test_shipped_configs.py (one image per
# class, 4 steps, 1 epoch), the device, and stand-ins for what is not on this machine:
# tiny random models in the real layouts for a missing teacher checkpoint or an uncached
# hub backbone, tiny fake CIFAR-10 / Fashion-MNIST where the real ones are not found.
#
#   bash scripts/gpu_check.sh                      # CUDA, bf16
#   DEVICE=cpu bash scripts/gpu_check.sh           # dry run on a CPU (float32)
#   CONFIGS="configs/fmnist-noise.yaml" bash scripts/gpu_check.sh   # some configs only
#   KEEP=1 ...                                     # keep the work folder (runs, logs)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
DEVICE=${DEVICE:-cuda}
WORK=$(mktemp -d -t dfkd-gpu-check-XXXX)
[ -n "${KEEP:-}" ] && echo "work folder: $WORK" || trap 'rm -rf "$WORK"' EXIT

# Tiny configs into $WORK/configs, data into $WORK/data (stand-ins only where needed).
"$PY" - "$WORK" "$DEVICE" ${CONFIGS:-configs/*.yaml} <<'EOF' || { echo "FAIL: could not prepare the tiny configs"; exit 1; }
import sys
from pathlib import Path

import torch
import yaml

sys.path.insert(0, "tests")
from fake_cifar import fake_cifar10  # noqa: E402
from test_shipped_configs import _write_idx, shrink  # noqa: E402  the budgets the CPU test uses
from tiny_models import tiny_pixel_prior, tiny_stable_diffusion  # noqa: E402

work, device, configs = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
if device.startswith("cuda"):
    if not torch.cuda.is_available():
        sys.exit("DEVICE=cuda but torch sees no GPU (use DEVICE=cpu for a dry run)")
    print(f"{torch.cuda.get_device_name()}: backbones in "
          f"{'bfloat16' if torch.cuda.is_bf16_supported() else 'float16 (no bf16 on this GPU)'}")


def on_disk(hub_id: str) -> bool:
    from huggingface_hub import snapshot_download
    try:
        snapshot_download(hub_id, local_files_only=True)
        return True
    except Exception:  # not in the local cache
        return False


def fashion_mnist(root: Path) -> Path:
    from dfkd_core import DfkdError
    from dfkd_core.data.fashion_mnist import locate
    try:
        return locate()
    except DfkdError:  # a fake one: 60,000 training images, as the demo splits are index ranges
        import numpy as np
        root.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for prefix, n in (("train", 60_000), ("t10k", 100)):
            _write_idx(root / f"{prefix}-images-idx3-ubyte.gz", np.repeat(rng.integers(0, 256, (n, 1, 28)), 28, 1))
            _write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
        return root


tiny = {"teachers": {}, "backbones": {}}
for path in configs:
    text = Path(path).read_text()
    for arch, name in (("wrn_40_2", "cifar10_wrn40_2.pth"), ("resnet34", "cifar10_resnet34.pth")):
        if name in text and not Path("checkpoints/pretrained", name).exists() and name not in tiny["teachers"]:
            from dfkd_core.models.zoo import build_model
            torch.manual_seed(0)  # Fast-Datafree/CMI's checkpoint layout
            torch.save({"epoch": 1, "state_dict": build_model(arch, 10, 3).state_dict()}, work / name)
            tiny["teachers"][name] = str(work / name)
    for hub_id, make in (("google/ddpm-cifar10-32", lambda p: tiny_pixel_prior(p, channels=3, size=32)),
                         ("runwayml/stable-diffusion-v1-5", tiny_stable_diffusion)):
        if hub_id in text and hub_id not in tiny["backbones"] and not on_disk(hub_id):
            tiny["backbones"][hub_id] = str(make(work / hub_id.replace("/", "--")))
data = {"cifar10": work / "data" / "cifar", "fmnist": fashion_mnist(work / "data" / "fashion-mnist")}
fake_cifar10(data["cifar10"])  # the real CIFAR-10 is used instead when DATA_DIR is set
(work / "configs").mkdir()
for path in configs:
    cfg = shrink(yaml.safe_load(Path(path).read_text()), tiny)
    cfg["device"] = device
    (work / "configs" / Path(path).name).write_text(yaml.safe_dump(cfg, sort_keys=False))
(work / "data" / "dirs").write_text(f"{data['cifar10']}\n{data['fmnist']}\n")
print("stand-ins:", ", ".join([*tiny["teachers"], *tiny["backbones"]]) or "none")
EOF

{ read -r CIFAR_DIR; read -r FMNIST_DIR; } < "$WORK/data/dirs"
failed=0
for cfg in "$WORK"/configs/*.yaml; do
  name=$(basename "$cfg" .yaml)
  case "$name" in cifar10*) data=${DATA_DIR:-$CIFAR_DIR} ;; *) data=$FMNIST_DIR ;; esac
  start=$SECONDS
  if DFKD_DATA=$FMNIST_DIR "$PY" -m dfkd_core.cli run "$cfg" --out "$WORK/runs/$name" --device "$DEVICE" \
       --data-dir "$data" >"$WORK/$name.log" 2>&1; then
    echo "PASS $name ($((SECONDS - start)) s)"
  else
    echo "FAIL $name ($((SECONDS - start)) s); the end of its log:"
    tail -n 15 "$WORK/$name.log" | sed 's/^/    /'
    failed=1
  fi
done
exit $failed
