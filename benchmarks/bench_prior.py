"""How good the demo prior is on its own: its unguided samples, labelled by the kit's teacher,
judged by the panel (dfkd_core.methods.diffdfkd.prior_judging): how often the texture-proof
judges agree with the teacher's label (real test images: pixel kNN ~83 %), the Fréchet
distance to the real test set in pixel-PCA space beside that of as many real images, and how
the teacher's labels spread over the classes. The same figures are in the prior's card.

    python benchmarks/bench_prior.py [--prior DIR] [--samples 1000] [--steps 25] [--grid out.png]
"""

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.diffusion import load_backbone  # noqa: E402
from dfkd_core.judges import JudgePanel, save_grid  # noqa: E402
from dfkd_core.methods.diffdfkd.prior_judging import judge_prior  # noqa: E402
from dfkd_core.paths import PRIOR  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prior", default=str(PRIOR))
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--first-seed", type=int, default=10_000)
    p.add_argument("--grid", help="save 8 samples per teacher label to this PNG")
    args = p.parse_args()
    teacher = demo_teacher()
    figures, images, labels = judge_prior(load_backbone(args.prior, local_files_only=True), teacher,
                                          JudgePanel.for_demo(teacher=teacher), args.samples, args.steps,
                                          args.first_seed)
    print(json.dumps(figures, indent=1))
    if args.grid:
        order = torch.cat([torch.nonzero(labels == c).flatten()[:8] for c in range(len(teacher.class_names))])
        print(f"grid: {save_grid(images[order], labels[order], teacher.class_names, args.grid)}")


if __name__ == "__main__":
    main()
