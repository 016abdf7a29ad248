"""The teacher: a frozen classifier with its preprocessing, class names, features and
BatchNorm hooks (model.py); loading every format users bring (loading.py) as a config names
it (spec.py); its report and accuracy (report.py, evaluate.py); the demo kit's (demo.py)."""
