"""Fast-DFKD (Fang et al., "Up to 100x Faster Data-free Knowledge Distillation", AAAI 2022;
code zju-vipa/Fast-Datafree, fast_meta.py), written from the paper: a small generator whose
weights start every synthesis episode from a meta-learned shared initialisation, a learnable
latent per image, the teacher's CE + BN-statistics + adversarial losses, an image memory on
which an online student learns by KD between episodes.

config.py: the settings (Fast-Datafree's names); generator.py: the generator; losses.py: the
three losses; episode.py: one synthesis episode and the meta-update; memory.py: the image
memory; state.py: the checkpoint of everything an episode carries to the next; source.py:
the Source (one batch of keys = one episode); stage.py: the pipeline stage `fast_dfkd`."""
