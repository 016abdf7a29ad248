"""Behaviour unchanged across a change of code: a fixed-seed `dfkd generate` (demo kit,
2 per class, 5 steps) and a 1-epoch `dfkd distill` of its images, run by two revisions of
this repository on this machine, must give byte-identical images and rows and identical
student weights.

    python benchmarks/compare_revisions.py --before REV [--after REV]   # after: the working tree
    python benchmarks/compare_revisions.py --before REV --assets DIR     # both on one demo kit

A revision is checked out with `git worktree` into a temporary folder; both run one thread
(float rounding then follows the same order) in fresh processes."""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent


def checkout(rev: str | None, into: Path) -> Path:
    if rev is None:
        return ROOT
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), rev], check=True,
                   capture_output=True)
    return into


def run_side(tree: Path, out: Path, assets: str | None, per_class: int, steps: int) -> Path:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "DFKD_RUNS_DIR": str(out / "runs")}
    if assets:
        env["DFKD_DEMO_ASSETS"] = assets
    cli = [sys.executable, "-m", "dfkd_core.cli"]
    for args in (["generate", "--teacher", "demo", "--backbone", "demo", "--per-class", str(per_class),
                  "--steps", str(steps), "--seed", "0", "--out", str(out / "gen")],
                 ["distill", "--samples", str(out / "gen"), "--teacher", "demo", "--epochs", "1", "--batch-size", "8",
                  "--no-onnx", "--device", "cpu", "--out", str(out / "distill")]):
        done = subprocess.run(cli + args, cwd=tree, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{tree}: dfkd {args[0]} failed:\n{done.stderr[-3000:]}")
    return out


def rows(store: Path) -> list[dict]:
    name = "metadata.csv" if (store / "metadata.csv").exists() else "manifest.csv"
    with open(store / name, newline="") as f:
        return [{k: v for k, v in r.items() if k != "created"} for r in csv.DictReader(f)]


def differences(a: Path, b: Path) -> list[str]:
    found = []
    images_a = sorted(p.name for p in (a / "gen" / "images").glob("*.png"))
    images_b = sorted(p.name for p in (b / "gen" / "images").glob("*.png"))
    if images_a != images_b:
        found.append(f"image files differ: {len(images_a)} vs {len(images_b)}")
    found += [f"image {n} differs" for n in images_a if n in images_b and
              (a / "gen/images" / n).read_bytes() != (b / "gen/images" / n).read_bytes()]
    if rows(a / "gen") != rows(b / "gen"):
        found.append("store rows differ")
    student = next((a / "distill").rglob("student.safetensors")), next((b / "distill").rglob("student.safetensors"))
    wa, wb = (load_file(str(p)) for p in student)
    if wa.keys() != wb.keys() or any(not wa[k].equal(wb[k]) for k in wa):
        found.append("student weights differ")
    return found


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True, help="git revision")
    p.add_argument("--after", help="git revision (default: the working tree)")
    p.add_argument("--assets", help="one demo kit for both sides (DFKD_DEMO_ASSETS)")
    p.add_argument("--per-class", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trees = [checkout(args.before, tmp / "before-tree"), checkout(args.after, tmp / "after-tree")]
        try:
            a, b = (run_side(t, tmp / side, args.assets, args.per_class, args.steps)
                    for t, side in zip(trees, ("before", "after")))
            found = differences(a, b)
            count = len(list((a / "gen" / "images").glob("*.png")))
        finally:
            for t in trees:
                if t != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(t)], check=False)
    print(f"identical: {count} images, their rows and the student's weights" if not found
          else "DIFFERENT:\n  " + "\n  ".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
