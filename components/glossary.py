"""Every symbol and term of art the app shows, in one sentence each ("How it works" lists
them). tests/test_app_explained.py checks that each one the page shows is here."""

import html

# (term, what it means here); the order is the order of the story: sampling, judging, filtering, training
GLOSSARY = [
    ("x̂0", "The denoiser's guess, at one step, of the clean image the noise will become (x-hat-zero). "
            "The teacher judges this guess, so it can steer long before the image is finished."),
    ("z_t", "The noisy image (or latent) at step t of denoising: pure noise at the start, the sample at the end."),
    ("ᾱ_t", "How much of the clean image is left in z_t (alpha-bar): near 0 at the start, 1 at the end."),
    ("step", "One denoising step: predict x̂0, nudge it (guidance), move z_t one notch towards clean."),
    ("DDIM", "A sampler that takes the same path from the same noise every time (eta 0)."),
    ("eta", "The sampler's noise (η): 0 is DDIM, 1 adds fresh noise at every step (ancestral sampling)."),
    ("strength", "How far guidance moves z_t at each step, scaled by √(1−ᾱ_t) so it fades as the image gets clean."),
    ("p(target)", "The teacher's probability that an image is of the class it was made for."),
    ("CE", "Cross-entropy: −log p(target), the loss guidance lowers (weight oh)."),
    ("oh", "The weight of the teacher's cross-entropy in the guidance loss (one-hot loss)."),
    ("bn", "The weight of the BatchNorm-statistics loss: images whose features have the mean and variance "
           "the teacher saw in training."),
    ("BN", "BatchNorm: the layers that keep running feature statistics; their means and variances are a "
           "fingerprint of the training data."),
    ("candidate starts", "Several starting noises per sample, each previewed roughly without guidance; the "
                         "teacher keeps the one whose rough image looks most like the class."),
    ("Latent CutMix", "Pasting a box of one same-class sample's latent into another mid-way through denoising."),
    ("λ", "Lambda: the share of the image kept when a CutMix box is pasted in (the box covers 1 − λ)."),
    ("Beta(α, α)", "The random distribution λ is drawn from; α = 1 draws any share equally often, a small α "
                   "favours nearly-all or nearly-none."),
    ("α", "Alpha: the shape of Beta(α, α) (CutMix's, and mixup's a)."),
    ("SDEdit", "Making a variation by noising an image part-way (strength s) and denoising it again."),
    ("s", "A variation's strength: how far its source is noised, 0 (unchanged) to 1 (pure noise)."),
    ("cos", "Cosine similarity of two embeddings: 1 for the same direction, 0 for unrelated."),
    ("ω", "Omega: the filter keeps a variation when its cosine to its source is at least ω."),
    ("τ", "Tau: the filter keeps a sample when the teacher's p(target) is at least τ."),
    ("nats", "The unit of entropy computed with the natural log (ln 10 ≈ 2.3 nats: ten equally likely classes)."),
    ("entropy", "How unsure the teacher is: 0 when sure, ln K nats when every one of K classes is as likely."),
    ("embedding", "A vector that describes an image (the teacher's penultimate features, or CLIP's)."),
    ("UMAP", "A 2-D map of the embeddings that keeps each point's neighbours near it."),
    ("PCA", "Principal components: the directions in which images vary most."),
    ("kNN", "k nearest neighbours: a sample gets the class of the real images it looks most like, pixel for "
            "pixel (a texture-proof judge)."),
    ("PCA-linear", "A linear classifier on the leading pixel principal components of real images: it sees "
                   "silhouettes, not textures (a texture-proof judge)."),
    ("texture-proof", "A judge that faint adversarial textures cannot fool, because it compares pixels with "
                      "real images."),
    ("Fréchet", "The Fréchet distance between samples and real images in pixel-PCA space: lower is closer."),
    ("KD", "Knowledge distillation: the student learns to give the teacher's probabilities."),
    ("T", "The KD temperature: above 1 it softens the teacher's probabilities, so the student also learns "
          "which wrong classes look alike."),
    ("mixup", "Training on blends of two images (weight ~ Beta(a, a)) with blended targets."),
    ("SimKD", "The student reuses the teacher's classifier head and learns only to match its features."),
    ("GAN", "A generator and a discriminator trained against each other; HiDFD's is also guided by the teacher."),
    ("EMA", "Exponential moving average: a copy of the generator whose weights average its recent steps; "
            "steadier than the last step's."),
    ("ADC", "The GAN discriminator's auxiliary classifier, which also tells real from fake per class."),
    ("ms", "Mode seeking: a loss that pushes different latents of one class to different images."),
    ("collapse", "A GAN class that came out black, blank or all alike: the student learns nothing from it."),
    ("seed", "The number that fixes the starting noise: the same seed and settings give the same image."),
]


def glossary_html() -> str:
    rows = "".join(f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>" for term, text in GLOSSARY)
    return f'<dl class="glossary">{rows}</dl>'


CSS = """.glossary {display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; margin:0}
.glossary dt {font-weight:600; white-space:nowrap}
.glossary dd {margin:0}
@media (max-width: 640px) {.glossary {grid-template-columns:1fr} .glossary dd {margin:0 0 8px}}"""
