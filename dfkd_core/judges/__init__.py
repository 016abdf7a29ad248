"""Judges of synthetic images: is a sample recognisably its target class?

A teacher's confidence says little about that: its gradient paints adversarial textures
that it, and networks like it, read as the class while a person sees noise. So samples are
judged by a panel, and each judge's blind spots are stated:

- teacher (network): argmax == target and mean p(target). Sees what guidance optimised, so
  it is the judge guidance fools first; it can only say the guidance reached its target.
- reference CNN (network; the demo kit's independent WRN-16-1): a second network trained on
  the same images. It shares most adversarial textures with the teacher, so a high figure
  from it is NOT evidence that images look like the class.
- pixel kNN (texture-proof): majority label of the k nearest real images (cosine on pixels
  centred on the real mean image; 10,000 real `pool` images the teacher never saw). Faint
  textures barely move an image in pixel space, so they cannot fool it; it cannot see
  content that is shifted, rescaled or restyled away from the real images (~84 % on real
  Fashion-MNIST test images).
- linear on pixel PCA (texture-proof): logistic regression on the leading 64 principal
  components of real images, which hold silhouettes, not fine detail. Cannot see detail,
  and confuses classes of similar shape (shirt/pullover/coat).
- Fréchet distance to the real test set in that pixel-PCA space (not the teacher's), beside
  the distance of as many real images (small sets are biased upwards).
- within-class diversity: mean pixel distance between samples of a class / real images'.
  Low means repetition; high is not better (noise is diverse).
- the per-class grid (save_grid): look at it; no figure replaces a look.

Real images are used only to evaluate, never to make samples. Fitted judges are cached.

    panel = JudgePanel.for_demo()
    result = panel.judge(images, targets)   # or judge_store(store, panel)
    print(format_report(result)); save_grid(images, targets, panel.class_names, "grid.png")

Names are imported on first use, so a light submodule (settings) does not pull in torch.
"""

from importlib import import_module

_PUBLIC = {
    "JudgePanel": "panel", "default_cache_dir": "panel", "ReferenceSettings": "settings",
    "RealReference": "reference", "fit_reference": "reference", "cached_reference": "cache",
    "judge_store": "store", "store_samples": "store", "save_grid": "grid", "grid_image": "grid",
    "format_report": "report",
}
__all__ = list(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
