"""DeepInversion (Yin et al., 2020), a baseline: images optimised from noise so the teacher
classifies them as their targets and their BatchNorm statistics match the teacher's running
ones; no generator. config.py: the settings; synthesis.py: the method and its Source;
stage.py: the pipeline stage `deepinversion`."""
