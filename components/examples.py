"""The pre-made examples (assets/examples/, made once by scripts/make_examples.py): shown
at once with no compute, and loadable into the Samples tab's controls with one click."""

import functools
import html
import json
from pathlib import Path

from PIL import Image

from . import figures

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "assets" / "examples"


@functools.lru_cache(maxsize=4)
def load(folder: str = str(EXAMPLES_DIR)) -> list[dict]:
    """The examples of examples.json; [] when none were made (the page says so)."""
    index = Path(folder) / "examples.json"
    if not index.is_file():
        return []
    return json.loads(index.read_text())["examples"]


def _judges_line(example: dict) -> str:
    judged = example.get("judges", {})
    if "guided" not in judged:
        return judged.get("unavailable", "")
    parts = []
    for kind in ("guided", "unguided"):
        judges = judged[kind]["judges"]
        proof = [j["agreement"] for j in judges if j["kind"] == "texture-proof"]
        teacher = next(j["agreement"] for j in judges if j["label"].startswith("teacher"))
        parts.append(f"{kind}: teacher {teacher:.0%}, texture-proof judges {sum(proof) / len(proof):.0%}")
    return "Agreement with the target, " + "; ".join(parts) + "."


def _chosen(example: dict) -> str:
    chosen = example.get("chosen")
    if not chosen:
        return ""
    return (f" Seeds picked by the judges: batch {chosen['tries']} was the first tried whose guided images every "
            "judge calls the target." if chosen["all_judges_agree"] else "")


def example_html(example: dict, folder: str = str(EXAMPLES_DIR), small: bool = False) -> str:
    """One example: a card per seed (guided | unguided), its settings and judges' figures."""
    s = example["settings"]
    cards = []
    for sample in example["samples"]:
        images = [Image.open(Path(folder) / sample[k]) for k in ("guided", "unguided")]
        cards.append(figures.card(images, [f"guided p={sample['p_guided']:.2f}",
                                           f"unguided p={sample['p_unguided']:.2f}"],
                                  f"{sample['class']} · seed {sample['seed']}", small=small))
    head = (f"<h4>{html.escape(example['title'])}</h4><p class='dfkd-note'>strength {s['strength']:g}, "
            f"{s['steps']} steps, eta {s['eta']:g}. {html.escape(_judges_line(example))}{_chosen(example)}</p>")
    return head + figures.grid(cards)


def gallery_html(folder: str = str(EXAMPLES_DIR), small: bool = False) -> str:
    examples = load(folder)
    if not examples:
        return figures.note("No pre-made examples here: run `python scripts/make_examples.py`.")
    return "".join(f'<section class="dfkd-example">{example_html(e, folder, small)}</section>' for e in examples)


def control_values(example: dict) -> tuple:
    """(classes, per_class, strength, seed, steps, eta) for the Samples tab's controls."""
    s = example["settings"]
    return s["classes"], s["per_class"], s["strength"], s["seed"], s["steps"], s["eta"]
