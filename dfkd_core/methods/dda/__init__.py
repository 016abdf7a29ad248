"""DDA (diverse diffusion augmentation): variations of stored samples made with the diffusion
model (SDEdit: noise to strength s, denoise; image-variation pipelines for Stable Diffusion),
kept when the cosine similarity of their embedding to their source's is at least omega (the
filter, dfkd_core.filter). config.py: the settings; variations.py: making them; stage.py:
the pipeline stage `augment`."""
