"""`dfkd run CONFIG.yaml`: every stage declared once (stages.py), a config checked whole
before any work (config.py, checks.py), run and resumed in one folder (run.py, folder.py);
stored.py: the stages for images made before; runs.py: the runs on disk, as the app lists
and starts them."""
