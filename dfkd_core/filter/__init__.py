"""Judging a store's samples for distillation: per-sample scores (the cosine of each DDA
variation to its source, the teacher's confidence) and the thresholds that keep them
(scores.py, config.py, stage.py), and the 2-D projection of their features (projection.py)."""
