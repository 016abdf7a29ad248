"""Per-class test accuracy of the students of finished runs, beside the teacher's: where a
student's gap to the teacher lies (which classes its training images failed to teach).

    python benchmarks/bench_per_class.py runs/table-b10000-e20/diffdfkd runs/table-b10000-e20/kd-real ...

Each argument is a run folder (its last stage that wrote a student.json is used) or a
student.json. Evaluates on all 10,000 Fashion-MNIST test images."""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dfkd_core.data import load_fashion_mnist  # noqa: E402
from dfkd_core.errors import DfkdError  # noqa: E402
from dfkd_core.teacher.demo import demo_teacher  # noqa: E402
from dfkd_core.teacher.evaluate import predict  # noqa: E402
from dfkd_core.teacher.loading import load_teacher  # noqa: E402


def student_card(path: Path) -> Path:
    if path.is_file():
        return path
    cards = sorted(path.glob("*/student.json"))
    if not cards:
        raise DfkdError(f"{path} holds no student: expected a run folder with a finished distill stage.")
    return cards[-1]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path)
    args = p.parse_args()
    test = load_fashion_mnist("test")
    rows = [("teacher", demo_teacher())] + [(str(r), load_teacher(student_card(r))) for r in args.runs]
    print("| model | " + " | ".join(test.class_names) + " | all |")
    print("|---" * (len(test.class_names) + 2) + "|")
    for name, model in rows:
        model.eval()
        with torch.no_grad():
            pred = predict(model, test)
        per_class = [(pred[test.labels == c] == c).float().mean().item() for c in range(len(test.class_names))]
        cells = " | ".join(f"{100 * a:.1f}" for a in per_class)
        print(f"| {name} | {cells} | {100 * (pred == test.labels).float().mean().item():.2f} |")


if __name__ == "__main__":
    main()
