"""Training students: knowledge distillation (kd.py), supervised training of teachers
(supervised.py), the loop both share with its exact resume (fit.py, parallel.py for DDP),
the export of a student (export.py), their settings (config.py) and the pipeline stage
`distill` (stage.py)."""
