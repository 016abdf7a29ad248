"""One step's prediction and, when guided, the teacher's gradient turned into a direction.

  - "x0" (default; MPGD, TFG's mean guidance): the denoiser runs without autograd; the
    gradient of the teacher loss is taken w.r.t. the predicted clean sample x0, through the
    decoder (latent models) and the teacher only: no backward pass through the denoiser.
  - "full": d loss / d z_t through the denoiser too, as the DiffDFKD paper writes it.

The loss is the teacher's on the decoded image, or averaged over augmented copies of it
(levers.augmented_copies); the gradient is low-passed (blur) and normalised to unit RMS per
sample, so `strength` reads the same for every model."""

import torch

from dfkd_core.runtime.precision import autocast

from .levers import augmented_copies, gaussian_blur
from .losses import teacher_loss


def network(backbone, z, t: int, cond) -> torch.Tensor:
    """The denoiser's output for the float32 trajectory state z, run in the backbone's dtype
    (under bfloat16 autocast when its precision is bf16); the schedule reads it in float32."""
    with autocast(backbone.device, backbone.precision):
        return backbone.model_output(z.to(backbone.dtype), t, cond)


def unit_rms(grad: torch.Tensor) -> torch.Tensor:
    rms = grad.flatten(1).pow(2).mean(1).sqrt().clamp_min(1e-12)
    return grad / rms.view(-1, *[1] * (grad.dim() - 1))


def predict(backbone, teacher, z, t: int, cond, targets, cfg, aux, student=None, fresh: bool = False):
    """(eps, x0, direction) at z; direction is None unless `fresh` (a new teacher gradient)."""
    sched = backbone.schedule
    if not fresh:
        with torch.no_grad():
            eps, x0 = sched.split(network(backbone, z, t, cond), z, t)
        return eps, x0, None
    copies = max(1, cfg.copies)

    def loss_of(x0_batch):
        images = augmented_copies(backbone.decode(x0_batch, clamp=False), cfg.copies, cfg.shift, cfg.copy_noise,
                                  aux)
        with autocast(backbone.device, backbone.precision):  # the teacher's forward pass, as the denoiser's
            return teacher_loss(teacher, images, targets.repeat(copies), cfg, student) / copies

    with torch.enable_grad():
        if cfg.mode == "full":
            z_in = z.detach().requires_grad_(True)
            eps, x0 = sched.split(network(backbone, z_in, t, cond), z_in, t)
            grad = torch.autograd.grad(loss_of(x0), z_in)[0]
        else:
            with torch.no_grad():
                eps, x0 = sched.split(network(backbone, z, t, cond), z, t)
            x0_in = x0.detach().requires_grad_(True)
            grad = torch.autograd.grad(loss_of(x0_in), x0_in)[0]
    return eps.detach(), x0.detach(), unit_rms(gaussian_blur(grad, cfg.blur))
