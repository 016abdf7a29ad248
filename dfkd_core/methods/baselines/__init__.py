"""The simplest sources: Gaussian noise and real images labelled by the teacher
(sources.py), their settings (config.py) and stages `noise` and `real` (stage.py)."""
