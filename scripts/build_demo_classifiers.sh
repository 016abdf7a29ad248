#!/usr/bin/env bash
# Rebuilds the demo kit's teacher and student real-data reference (assets/fmnist-demo/).
# Fashion-MNIST must be available (see README). Rerunning resumes from runs/train-*/checkpoint.pt.
# 2-core CPU: about 65 min for the teacher, 15 min for the student (less on a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
dfkd teacher train --arch wrn_16_2 --dataset fashion-mnist --split teacher-train \
  --epochs 10 --batch-size 128 --lr 0.1 --seed 0 --out assets/fmnist-demo/teacher
dfkd teacher train --arch wrn_16_1 --dataset fashion-mnist --split teacher-train \
  --epochs 10 --batch-size 128 --lr 0.1 --seed 0 --out assets/fmnist-demo/student-reference
