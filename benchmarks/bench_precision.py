"""float32 against bfloat16 autocast (dfkd_core/precision.py) on the demo kit, in one run.

    python benchmarks/bench_precision.py [--batch 50] [--repeats 3] [--per-class 20] [--device cpu]

Prints the CPU's bfloat16 units (lscpu flags: amx_bf16, avx512_bf16; without them autocast
is emulated and slower), then the median seconds of unguided sampling and of guided sampling
with GuidanceConfig's defaults (a batch of --batch images, 25 steps) and of one distillation
epoch (WRN-16-2 teacher, WRN-16-1 student, 2,048 images) in fp32 and in bf16, with their
ratio; rounds alternate the rows, so load on a shared machine shifts both alike. Then one
network pass on the batch: the denoiser's forward with its weights channels-last and
contiguous (the layout bf16 needs on a CPU), and the teacher's forward + backward to its input
(what a guided step adds). Then every
judge of the panel on the same seeds' default guided samples made in fp32 and in bf16, and
their mean |pixel difference|: bf16 is only worth its speed if the judges see the same
samples."""

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sampling import timed  # noqa: E402

from dfkd_core.data.image_dataset import ImageDataset  # noqa: E402
from dfkd_core.diffusion.loading import resolve_backbone
from dfkd_core.distill.config import DistillConfig
from dfkd_core.distill.kd import distill
from dfkd_core.judges import JudgePanel  # noqa: E402
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.methods.diffdfkd.sampler import guided_sample  # noqa: E402
from dfkd_core.methods.diffdfkd.sweep import sample_row, sweep_plan  # noqa: E402
from dfkd_core.models.zoo import build_model  # noqa: E402
from dfkd_core.runtime.precision import autocast  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def bf16_units() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return "unknown (no /proc/cpuinfo)"
    found = [f for f in ("amx_bf16", "avx512_bf16") if f in flags.split()]
    return ", ".join(found) or "none: bf16 is emulated on this CPU"


def distill_epoch(teacher, images: ImageDataset, precision: str, device: str):
    torch.manual_seed(0)
    student = build_model("wrn_16_1", teacher.num_classes, teacher.in_channels)
    with tempfile.TemporaryDirectory() as out:
        distill(student, teacher, images, None, DistillConfig(epochs=1, precision=precision), out, device=device)


def pass_rows(backbone, teacher, batch: int, device: str) -> dict:
    """{(row, precision): one network pass} on `batch` images."""
    plain = copy.deepcopy(backbone.unet).to(memory_format=torch.contiguous_format)
    z = torch.randn(batch, *backbone.latent_shape(), generator=torch.Generator().manual_seed(0)).to(device)
    t, y = torch.full((batch,), 500, device=device), torch.arange(batch, device=device) % teacher.num_classes

    def denoise(unet, precision):
        with torch.no_grad(), autocast(device, precision):
            unet(z, t)

    def teacher_gradient(precision):
        x = torch.rand(batch, teacher.in_channels, 28, 28, generator=torch.Generator().manual_seed(0)).to(device)
        x.requires_grad_(True)
        with autocast(device, precision):
            logits = teacher(x).float()
        torch.autograd.grad(torch.nn.functional.cross_entropy(logits, y, reduction="sum"), x)

    rows = {}
    for pr in PRECISIONS:
        rows[("denoiser pass, channels-last", pr)] = lambda pr=pr: denoise(backbone.unet, pr)
        rows[("denoiser pass, contiguous", pr)] = lambda pr=pr: denoise(plain, pr)
        rows[("teacher forward + backward", pr)] = lambda pr=pr: teacher_gradient(pr)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=50, help="images per timed sampling batch")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (each times every row once)")
    p.add_argument("--per-class", type=int, default=20, help="judged samples per class (0: timings only)")
    p.add_argument("--first-seed", type=int, default=1000)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    teacher = demo_teacher().to(args.device)
    backbones = {pr: resolve_backbone("demo", args.device, pr) for pr in PRECISIONS}
    print(f"device: {args.device} ({torch.get_num_threads()} threads); bfloat16 units: {bf16_units()}; "
          f"torch {torch.__version__}")

    targets, seeds = [k % 10 for k in range(args.batch)], list(range(args.batch))
    configs = {"unguided": GuidanceConfig(strength=0.0), "guided (defaults)": GuidanceConfig()}
    gen = torch.Generator().manual_seed(0)
    images = ImageDataset(torch.randint(0, 256, (2048, 1, 28, 28), dtype=torch.uint8, generator=gen),
                          torch.zeros(2048, dtype=torch.long), name="random")
    rows = {}
    for name, cfg in configs.items():
        for pr in PRECISIONS:
            rows[(name, pr)] = lambda b=backbones[pr], c=cfg: guided_sample(b, teacher, targets, seeds, c)
    for pr in PRECISIONS:
        rows[("distill epoch, 2,048 images", pr)] = lambda pr=pr: distill_epoch(teacher, images, pr, args.device)
    rows.update(pass_rows(backbones["fp32"], teacher, args.batch, args.device))
    seconds = timed(rows, args.repeats)
    print(f"\nmedian seconds of {args.repeats} interleaved rounds (sampling: {args.batch} images x 25 steps)")
    print(f"{'row':<32}{'fp32 s':>9}{'bf16 s':>9}{'fp32 / bf16':>13}")
    for name in dict.fromkeys(n for n, _ in rows):
        f32, b16 = seconds[(name, "fp32")], seconds[(name, "bf16")]
        print(f"{name:<32}{f32:>9.3f}{b16:>9.3f}{f32 / b16:>12.2f}x")

    if args.per_class == 0:
        return
    panel = JudgePanel.for_demo(teacher=teacher, device=args.device)
    targets, seeds = sweep_plan(10, args.per_class, args.first_seed)
    made = {pr: sample_row(backbones[pr], teacher, GuidanceConfig(), targets, seeds)[0] for pr in PRECISIONS}
    print(f"\ndefault guided samples, {10 * args.per_class} (seeds {args.first_seed}.."
          f"{args.first_seed + args.per_class - 1} in every class): agreement with the target")
    heads = ("teacher", "reference_cnn", "pixel_knn", "pca_linear")
    print(f"{'precision':<12}" + "".join(f"{h:>15}" for h in heads) + f"{'Fréchet':>10}")
    for pr, batch in made.items():
        with torch.no_grad():
            result = panel.judge(batch, torch.tensor(targets))
        cells = [f"{100 * result['judges'][h]['agreement']:.1f}%" for h in heads]
        print(f"{pr:<12}" + "".join(f"{c:>15}" for c in cells) + f"{result['frechet']['samples']:>10.2f}")
    diff = (made["fp32"] - made["bf16"]).abs()
    print(f"|fp32 - bf16| per pixel (images in [0, 1]): mean {diff.mean():.4f}, max {diff.max():.3f}")


if __name__ == "__main__":
    main()
