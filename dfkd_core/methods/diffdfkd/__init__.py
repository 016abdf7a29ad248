"""DiffDFKD: teacher-guided diffusion sampling and Latent CutMix. config.py: the settings;
sampler.py: the guided DDIM loop; losses.py: the teacher's loss; levers.py: what keeps
guidance from painting textures; cutmix.py: Latent CutMix; source.py: the Source;
generate.py: a generation run (`dfkd generate`); stage.py: the stages `generate` and
`unguided`; preview.py: what the app's Samples tab streams; sweep.py: settings side by side."""
