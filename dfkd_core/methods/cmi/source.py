"""CMI as a Source: Fast-DFKD's (one batch of keys = one synthesis episode, an image memory
for the online student, a checkpoint after each stored batch and exact resume), with CMI's
synthesizer in place of the meta-learned generator."""

from dfkd_core.methods.fast_dfkd.source import FastDFKD

from .synthesizer import ContrastiveSynthesizer


class CMI(FastDFKD):
    method = "cmi"
    title = "CMI"
    synthesizer = ContrastiveSynthesizer
    checkpoint_name = "cmi_state.safetensors"  # cfg: a CMIConfig
