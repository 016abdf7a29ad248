"""Category frequency smoothing (HiDFD): per-class weights for the teacher's loss on
generated images, from running counts of the classes the teacher *predicts* for them.

A class the teacher rarely recognises in the generator's output gets a larger weight
(class-balanced loss with the effective number of samples, Cui et al. 2019):
    E(n_c) = (1 - beta**n_c) / (1 - beta),   w_c ∝ 1 / E(n_c),   mean_c w_c = 1.
The counts are a decayed running sum updated at every training step (n <- decay*n + counts),
so the weights follow the current generator; they start from the class frequencies of the
collected real images as the teacher labelled them."""

import torch


class FrequencySmoother:
    def __init__(self, num_classes: int, beta: float = 0.99, decay: float = 0.9, batch_size: int = 64,
                 initial_counts: torch.Tensor | None = None):
        if not 0 < beta < 1:
            raise ValueError(f"beta must be in (0, 1), got {beta}")
        if not 0 <= decay < 1:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.num_classes, self.beta, self.decay = num_classes, beta, decay
        steady_total = batch_size / (1 - decay)  # what the counts sum to once the window is full
        if initial_counts is None:
            initial_counts = torch.ones(num_classes)
        initial = torch.as_tensor(initial_counts, dtype=torch.float64)
        self.counts = initial / initial.sum().clamp(min=1e-12) * steady_total

    def update(self, predictions: torch.Tensor) -> torch.Tensor:
        """Fold in one step's teacher predictions (class indices); returns the new weights."""
        batch = torch.bincount(predictions.detach().flatten().cpu(), minlength=self.num_classes).double()
        self.counts = self.decay * self.counts + batch
        return self.weights()

    def weights(self) -> torch.Tensor:
        effective = (1 - self.beta ** self.counts) / (1 - self.beta)
        w = 1 / effective.clamp(min=1.0)  # fewer than one effective sample counts as one
        return (w / w.mean()).float()

    def state_dict(self) -> dict:
        return {"counts": self.counts.clone()}

    def load_state_dict(self, state: dict):
        self.counts = state["counts"].clone().double()
