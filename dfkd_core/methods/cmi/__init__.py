"""CMI (Fang et al., "Contrastive Model Inversion for Data-Free Knowledge Distillation",
IJCAI 2021; code zju-vipa/CMI), written from the paper: per batch of images, a generator
initialised afresh and a learnable latent per image, trained on the teacher's CE +
BN-statistics + adversarial losses plus a contrastive loss that pushes each image's teacher
features away from the batch's and earlier batches' (a feature bank), so images are diverse.

config.py: the settings (CMI's names); contrast.py: features, projection head, bank and
InfoNCE loss; views.py: the local view (random resized crop); synthesizer.py: one batch;
source.py: the Source; stage.py: the pipeline stage `cmi`. The image memory, online student,
checkpoint and resume are Fast-DFKD's (dfkd_core.methods.fast_dfkd)."""
