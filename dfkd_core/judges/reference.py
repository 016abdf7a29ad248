"""What the texture-proof judges learn from REAL images, and the real figures samples are
compared with. Real data is used here only to evaluate samples, never to make them.

Fit on a bounded, fixed subset of a split the teacher never trained on (Fashion-MNIST's
`pool`, train images 50,000-59,999); measured on the real test split."""

from dataclasses import dataclass

import torch

from dfkd_core.data import load_dataset

from .diversity import class_spreads
from .frechet import gaussian_stats
from .knn import PixelKNN
from .linear import PCALinear
from .pixels import PixelPCA, as_vectors
from .settings import ReferenceSettings


@dataclass
class RealReference:
    settings: ReferenceSettings
    class_names: list
    image_shape: tuple  # (C, H, W) of the real images; samples must match it
    knn: PixelKNN
    linear: PCALinear
    test_stats: tuple  # (mean, covariance) of the real test images' PCA coordinates
    real_spreads: torch.Tensor  # (K,) within-class pixel spread of the real test images
    test_accuracy: dict  # judge name -> accuracy on the real test images
    test_images: int
    fit_images: int


def _subset(ds, limit: int, seed: int):
    if len(ds) <= limit:
        return ds
    g = torch.Generator().manual_seed(seed)
    return ds.subset(torch.randperm(len(ds), generator=g)[:limit].sort().values.numpy())


def fit_reference(settings: ReferenceSettings) -> RealReference:
    settings.validate()
    fit = _subset(load_dataset(settings.dataset, settings.fit_split, root=settings.data_dir),
                  settings.fit_images, settings.seed)
    test = _subset(load_dataset(settings.dataset, settings.test_split, root=settings.data_dir),
                   settings.test_images, settings.seed + 1)
    k = len(fit.class_names)
    knn = PixelKNN.fit(fit.images, fit.labels, settings.k, k)
    pca = PixelPCA.fit(as_vectors(fit.images), settings.components)
    linear = PCALinear.fit(pca, fit.images, fit.labels, k, seed=settings.seed)
    accuracy = {"pixel_knn": float((knn.predict(test.images) == test.labels).float().mean()),
                "pca_linear": float((linear.predict(test.images) == test.labels).float().mean())}
    return RealReference(settings, list(fit.class_names), tuple(fit.images.shape[1:]), knn, linear,
                         gaussian_stats(pca.project(as_vectors(test.images))),
                         class_spreads(test.images, test.labels, k), accuracy, len(test), len(fit))
