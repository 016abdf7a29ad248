"""The judge panel: every judge's verdict on a batch of labelled samples, in one dict.

    panel = JudgePanel.for_demo()            # fits (once, then cached) on real Fashion-MNIST
    result = panel.judge(images, targets)    # images (N, C, H, W) in [0, 1], targets (N,)
    result["judges"]["pixel_knn"]["agreement"]

Keys of result["judges"]: "teacher" and "reference_cnn" (kind "network"), "pixel_knn" and
"pca_linear" (kind "texture-proof"); each holds agreement (share whose prediction is the
target), mean_p_target, per_class, test_accuracy (on real test images) and a label; the
network judges also their softness (mean_entropy, unsure), and under "real" the same on as
many real images."""

from dataclasses import dataclass, field
from pathlib import Path

import torch

from dfkd_core.errors import DfkdError
from dfkd_core.paths import runs_dir
from dfkd_core.teacher.demo import demo_student_reference, demo_teacher

from .cache import cached_reference
from .diversity import relative_diversity
from .frechet import frechet_distance, gaussian_stats
from .network import NetworkJudge, per_class_rate, softness
from .pixels import as_vectors
from .reference import RealReference, ReferenceSettings


def default_cache_dir() -> Path:
    """RUNS/cache/judges (paths.runs_dir: $DFKD_RUNS_DIR, default ./runs)."""
    return runs_dir() / "cache" / "judges"


@dataclass
class JudgePanel:
    reference: RealReference
    networks: dict = field(default_factory=dict)  # id -> NetworkJudge

    @classmethod
    def build(cls, settings: ReferenceSettings | None = None, cache_dir=None, networks: dict | None = None):
        ref = cached_reference(settings or ReferenceSettings(), cache_dir or default_cache_dir())
        return cls(ref, dict(networks or {}))

    @classmethod
    def for_demo(cls, data_dir=None, cache_dir=None, teacher=None, reference_cnn="demo", device="cpu",
                 settings: ReferenceSettings | None = None) -> "JudgePanel":
        """The demo kit's panel: its teacher (or `teacher`, a loaded Teacher), its independent
        WRN-16-1 (or `reference_cnn`; None leaves it out), and texture-proof judges fit on real
        Fashion-MNIST (`pool` split) from `data_dir` or the usual places."""
        settings = settings or ReferenceSettings(data_dir=str(data_dir) if data_dir else None)
        networks = {"teacher": NetworkJudge("teacher", (teacher or demo_teacher()).to(device))}
        if reference_cnn is not None:
            cnn = demo_student_reference() if reference_cnn == "demo" else reference_cnn
            networks["reference_cnn"] = NetworkJudge("reference CNN", cnn.to(device))
        return cls.build(settings, cache_dir, networks)

    @property
    def class_names(self) -> list:
        return self.reference.class_names

    def _check(self, images: torch.Tensor, targets: torch.Tensor):
        ref = self.reference
        if images.ndim != 4 or tuple(images.shape[1:]) != ref.image_shape:
            shape = "x".join(map(str, ref.image_shape))
            raise DfkdError(f"The judges were fit on {shape} images of {ref.settings.dataset}; the samples are "
                            f"{'x'.join(map(str, images.shape[1:]))}. Judge samples of that dataset's size.")
        if len(images) != len(targets) or len(images) == 0:
            raise DfkdError(f"Judging needs one target per image and at least one image "
                            f"(got {len(images)} images, {len(targets)} targets).")
        if int(targets.min()) < 0 or int(targets.max()) >= len(ref.class_names):
            raise DfkdError(f"Targets must be class indices 0-{len(ref.class_names) - 1}; "
                            f"got {int(targets.min())}..{int(targets.max())}.")

    def _pixel_judge(self, label: str, scores: torch.Tensor, targets: torch.Tensor, accuracy: float) -> dict:
        hit = scores.argmax(1) == targets
        return {"label": label, "kind": "texture-proof", "agreement": float(hit.float().mean()),
                "mean_p_target": float(scores.gather(1, targets.view(-1, 1)).mean()),
                "per_class": per_class_rate(hit, targets, scores.shape[1]), "test_accuracy": accuracy}

    def judge(self, images: torch.Tensor, targets: torch.Tensor) -> dict:
        images, targets = images.detach().cpu(), torch.as_tensor(targets).long().cpu()
        self._check(images, targets)
        ref, s = self.reference, self.reference.settings
        judges, real = {}, self._real_images(len(images))  # a bounded draw: the bank's size at most
        for key, net in self.networks.items():
            arch = getattr(net.model, "info", {}).get("arch")
            judges[key] = {"label": f"{net.name} ({arch})" if arch else net.name, "kind": "network",
                           **net.judge(images, targets), "test_accuracy": net.card_accuracy,
                           "real": softness(net.probs(real))}
        judges["pixel_knn"] = self._pixel_judge(f"pixel kNN (k={s.k}, cosine)", ref.knn.scores(images), targets,
                                                ref.test_accuracy["pixel_knn"])
        judges["pca_linear"] = self._pixel_judge(f"linear on pixel PCA-{s.components}", ref.linear.scores(images),
                                                 targets, ref.test_accuracy["pca_linear"])
        return {"samples": len(images), "classes": len(ref.class_names), "chance": 1 / len(ref.class_names),
                "class_names": ref.class_names, "judges": judges, "frechet": self._frechet(images, real),
                "diversity": relative_diversity(images, targets, ref.real_spreads),
                "reference": {**s.key(), "fit_images": ref.fit_images, "test_images": ref.test_images}}

    def _real_images(self, n: int) -> torch.Tensor:
        """As many real (pool) images as the samples, up to the bank's size (a fixed draw), in [0, 1]."""
        bank = self.reference.knn.bank
        order = torch.randperm(len(bank), generator=torch.Generator().manual_seed(0))[:min(n, len(bank))]
        return as_vectors(bank[order]).view(len(order), *bank.shape[1:])

    def _frechet(self, images: torch.Tensor, real: torch.Tensor) -> dict:
        """Samples' distance to the real test set, beside that of `real`, as many real (pool) images."""
        ref, pca = self.reference, self.reference.linear.pca
        floor = frechet_distance(gaussian_stats(pca.project(as_vectors(real))), ref.test_stats)
        return {"space": f"pixel PCA-{pca.components.shape[0]} fit on real {ref.settings.dataset} "
                         f"{ref.settings.fit_split}", "samples": frechet_distance(
                    gaussian_stats(pca.project(as_vectors(images))), ref.test_stats),
                "real_floor": floor, "real_floor_images": len(real)}
