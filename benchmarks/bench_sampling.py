"""Sampling speed and quality of teacher guidance on the demo kit, in one run.

    python benchmarks/bench_sampling.py [--per-class 20] [--steps 25] [--device cpu] [--variant JSON ...]
    python benchmarks/bench_sampling.py --quality-only --first-seed 1000 --per-class 100 --variant '{"blur": 1.5}'

Prints, for unguided sampling, guided sampling with GuidanceConfig's defaults, and each
--variant (GuidanceConfig fields as JSON, changed from the defaults: e.g. one candidate
start, the full gradient, a blur, recurrence): the latency of a batch (8 images x 25
steps), images/s and the ratio to unguided on the same steps and batch; then every judge of
the panel (dfkd_core.judges) on the same seeds for every row: the teacher's target rate, the
independent CNN (a network judge: it shares the teacher's blind spots), the texture-proof
pixel kNN and linear-on-pixel-PCA judges fit on real `pool` images, the Fréchet distance to
the real test set in pixel-PCA space, within-class diversity (dfkd_core.methods.diffdfkd.sweep does the
sampling and judging; --grid saves its grid). Two more timed rows run unguided and default
guided sampling with the models' weights in the contiguous layout instead of channels-last
(dfkd_core.runtime.frozen), to show what that layout gains; and the cost of one teacher forward +
backward pass against one denoiser pass, what a guided step adds."""

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.diffusion import load_backbone  # noqa: E402
from dfkd_core.judges import JudgePanel  # noqa: E402
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.methods.diffdfkd.prior_judging import judge_prior  # noqa: E402
from dfkd_core.methods.diffdfkd.sampler import guided_sample  # noqa: E402
from dfkd_core.methods.diffdfkd.sweep import sweep  # noqa: E402
from dfkd_core.paths import PRIOR
from dfkd_core.teacher.demo import demo_student_reference, demo_teacher  # noqa: E402


def timed(fns: dict, repeats: int) -> dict:
    """Median seconds of each function. Rounds run every function once, so a machine that
    speeds up or slows down over the run shifts all rows alike and their ratios hold."""
    times = {name: [] for name in fns}
    for round_ in range(repeats + 1):  # round 0 warms up
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def print_pass_costs(backbone, teacher, batch: int, repeats: int):
    """What one guided step adds to an unguided one: the teacher's forward and backward pass
    (x0 mode), against the denoiser's forward pass, on the same batch."""
    z = torch.randn(batch, *backbone.latent_shape(), generator=torch.Generator().manual_seed(0)).to(backbone.device)
    t, y = backbone.schedule.timesteps(25)[10], torch.arange(batch).remainder(teacher.num_classes).to(backbone.device)

    def denoiser():
        with torch.no_grad():
            backbone.model_output(z, t, backbone.conditioning(y, teacher.class_names))

    def teacher_gradient():
        x = backbone.decode(z, clamp=False).detach().requires_grad_(True)
        torch.autograd.grad(torch.nn.functional.cross_entropy(teacher(x), y, reduction="sum"), x)

    ms = timed({"denoiser": denoiser, "teacher": teacher_gradient}, 10 * repeats)
    print(f"one pass on {batch} images: denoiser forward {1e3 * ms['denoiser']:.1f} ms, teacher forward + "
          f"backward {1e3 * ms['teacher']:.1f} ms ({ms['teacher'] / ms['denoiser']:.2f}x the denoiser)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-class", type=int, default=20, help="quality samples per class (0: timings only)")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5, help="timed rounds (each times every row once)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--prior", default=str(PRIOR), help="a diffusion prior folder (default: the demo kit's)")
    p.add_argument("--variant", action="append", default=[], metavar="JSON",
                   help="an extra row: GuidanceConfig fields changed from the defaults, e.g. '{\"candidates\": 1}'")
    p.add_argument("--quality-only", action="store_true", help="skip the timings")
    p.add_argument("--cache-dir", help="where the fitted judges are kept (default RUNS/cache/judges)")
    p.add_argument("--grid", help="save the sweep grid of the quality rows (one row per sampler) to this PNG")
    p.add_argument("--first-seed", type=int, default=1000,
                   help="quality samples use seeds first..first+per_class-1 in every class (another range: held-out "
                        "seeds for a setting chosen on these)")
    args = p.parse_args()
    teacher, student = demo_teacher().to(args.device), demo_student_reference().to(args.device)
    backbone = load_backbone(args.prior, device=args.device)
    cpu = f"cpu, {torch.get_num_threads()} threads"
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else cpu
    print(f"device: {device}; torch {torch.__version__}; prior {args.prior}")

    targets, seeds = [k % 10 for k in range(args.batch)], list(range(args.batch))
    configs = {"unguided": GuidanceConfig(steps=args.steps, strength=0.0),
               "guided (defaults)": GuidanceConfig(steps=args.steps)}
    for spec in args.variant:
        fields = json.loads(spec)
        configs[json.dumps(fields, separators=(",", ":"))] = GuidanceConfig(**{"steps": args.steps, **fields})
    width = max(40, *(len(n) + 2 for n in configs))
    if not args.quality_only:
        rows = {name: lambda c=c: guided_sample(backbone, teacher, targets, seeds, c) for name, c in configs.items()}
        # the same models with their weights in the default (contiguous) layout instead of channels-last
        plain_backbone, plain_teacher = (copy.deepcopy(m) for m in (backbone, teacher))
        for module in (plain_backbone.unet, plain_teacher):
            module.to(memory_format=torch.contiguous_format)
        for name in ("unguided", "guided (defaults)"):
            rows[f"{name}, contiguous weights"] = (
                lambda c=configs[name]: guided_sample(plain_backbone, plain_teacher, targets, seeds, c))
        seconds = timed(rows, args.repeats)
        print(f"\n{args.batch} images x {args.steps} steps, median of {args.repeats} interleaved rounds")
        print(f"{'sampler':<{width}}{'latency s':>10}{'images/s':>10}{'vs unguided':>13}")
        for name, s in seconds.items():
            print(f"{name:<{width}}{s:>10.2f}{args.batch / s:>10.2f}{s / seconds['unguided']:>12.2f}x")
        print_pass_costs(backbone, teacher, args.batch, args.repeats)

    if args.per_class == 0:
        return
    panel = JudgePanel.for_demo(cache_dir=args.cache_dir, teacher=teacher, reference_cnn=student, device=args.device)
    print(f"\nquality on {10 * args.per_class} samples ({args.per_class} per class, seeds {args.first_seed}.."
          f"{args.first_seed + args.per_class - 1} in each, the same for every row); texture-proof judges fit on "
          f"real Fashion-MNIST pool images: kNN {100 * panel.reference.test_accuracy['pixel_knn']:.1f}%, "
          f"PCA-linear {100 * panel.reference.test_accuracy['pca_linear']:.1f}% on real test images")
    heads = ["teacher", "indep. CNN", "pixel kNN", "PCA-linear", "Fréchet", "diversity"]
    print(f"{'sampler':<{width}}" + "".join(f"{h:>12}" for h in heads))

    def report(i, r):
        j = r["judges"]
        cells = [f"{100 * j[k]:.1f}%" for k in ("teacher", "reference_cnn", "pixel_knn", "pca_linear")]
        cells += [f"{r['frechet']:.2f}", "-" if r["diversity"] is None else f"{r['diversity']:.2f}"]
        print(f"{r['label']:<{width}}" + "".join(f"{c:>12}" for c in cells), flush=True)
    # Unguided samples have no target: the sweep's plan repeats each seed in every class, so they
    # are judged apart, on as many distinct seeds, against the teacher's label (prior_judging).
    unguided, _, _ = judge_prior(backbone, teacher, panel, 10 * args.per_class, args.steps, args.first_seed)
    agree = unguided["agreement_with_teacher_label"]
    print(f"{'unguided (teacher-labelled)':<{width}}{'-':>12}" + "".join(
        f"{100 * agree[k]:>11.1f}%" for k in ("reference_cnn", "pixel_knn", "pca_linear"))
        + f"{unguided['frechet_pixel_pca']:>12.2f}{'-':>12}", flush=True)
    guided_rows = [(n, c) for n, c in configs.items() if c.strength > 0]
    image, rows = sweep(backbone, teacher, panel, guided_rows, args.per_class, args.first_seed,
                        show=min(args.per_class, 2), on_row=report)
    print(f"Fréchet distance of as many real images: {rows[0]['frechet_real_floor']:.2f}; guided FD / unguided FD: "
          + ", ".join(f"{r['label']} {r['frechet'] / unguided['frechet_pixel_pca']:.2f}" for r in rows))
    if args.grid:
        image.save(args.grid)
        print(f"grid: {args.grid}")

if __name__ == "__main__":
    main()
