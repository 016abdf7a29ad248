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
