"""How close a generator's samples are to real data in the teacher's eyes: the Fréchet
distance between teacher penultimate features of generated and real images (an FID measured
with the teacher instead of Inception; lower is closer), and how diverse they are within
each class."""

import torch


@torch.no_grad()
def teacher_features(teacher, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([teacher.features(images[i:i + batch_size].to(teacher.device)).cpu()
                      for i in range(0, len(images), batch_size)]).double()


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return vecs @ torch.diag(vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """||mu_a - mu_b||² + tr(A + B - 2 (A^½ B A^½)^½) for feature sets (N, D) and (M, D)."""
    a, b = a.double(), b.double()
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    root_a = _sqrt_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def class_spread(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Diversity within classes: the mean over classes of the total variance (trace of the
    covariance) of the features of that class's images."""
    traces = [torch.cov(features[labels == c].double().T).trace() for c in labels.unique().tolist()
              if int((labels == c).sum()) > 1]
    return float(torch.stack(traces).mean())


# A class the GAN collapsed: its samples teach a student nothing about it, however confident the
# teacher is (a near-black class passed the teacher once: GANConfig's comment). Thresholds for
# images in [0, 1], measured on the real Fashion-MNIST test set (32 px): class mean pixels 0.10-0.30
# (0.3 % of Sandal images under DARK), per-image std at least 0.07, and within-class spreads 0.10-0.20
# (at least 0.64 of the median class's).
DARK, FLAT, NARROW, MOST = 0.03, 0.02, 0.25, 0.5


def collapsed_classes(images: torch.Tensor, labels: torch.Tensor, class_names) -> list[dict]:
    """The classes whose samples are mostly near-black or near-constant, or whose within-class
    spread is under NARROW of the median of the other classes' (every sample alike): [{class, reason}]."""
    flat, labels = images.detach().float().cpu().flatten(1), torch.as_tensor(labels).long().cpu()
    reasons = {}
    for c in labels.unique().tolist():
        mine = flat[labels == c]
        if float((mine.mean(1) < DARK).float().mean()) > MOST:
            reasons[c] = "near-black images"
        elif float((mine.std(1) < FLAT).float().mean()) > MOST:
            reasons[c] = "near-constant images (no shape)"
    # within-class spread against the classes that still draw something
    spreads = {c: float(flat[labels == c].std(0).mean()) for c in labels.unique().tolist()
               if c not in reasons and int((labels == c).sum()) > 1}
    typical = float(torch.tensor(list(spreads.values())).median()) if len(spreads) > 2 else None
    for c, spread in spreads.items():
        if typical and spread < NARROW * typical:
            reasons[c] = "every sample alike (no variety within the class)"
    return [{"class": class_names[c] if c < len(class_names) else str(c), "reason": reasons[c]}
            for c in sorted(reasons)]


def collapse_warning(images: torch.Tensor, labels: torch.Tensor, class_names) -> str | None:
    """One sentence naming the collapsed classes and what to do, or None."""
    found = collapsed_classes(images, labels, class_names)
    if not found:
        return None
    named = "; ".join(f"{f['class']} ({f['reason']})" for f in found)
    return (f"The GAN collapsed {len(found)} class{'es' if len(found) > 1 else ''}: {named}. A student learns "
            "nothing about a collapsed class from these samples, whatever the teacher says of them. Train longer, "
            "raise the BN-statistics weight, or collect more real images of it.")
