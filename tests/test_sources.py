"""One interface for every source of training images (dfkd_core.methods): one seed plan, one
resumable writer that every source goes through, and no other batch writer in the engine or
the app."""

import ast
import threading
from pathlib import Path

import pytest
import torch
from dda_kit import NAMES, small_teacher, store_with_variations
from tiny_models import tiny_pixel_prior

from dfkd_core import DfkdError
from dfkd_core.data.image_dataset import ImageDataset
from dfkd_core.diffusion import load_backbone
from dfkd_core.errors import Cancelled
from dfkd_core.methods import REFUSE, REPLACE, Key, Made, balanced_plan, flat_plan, per_class_plan, write_source
from dfkd_core.methods.baselines.sources import Noise, RealImages
from dfkd_core.methods.dda.config import DDAConfig
from dfkd_core.methods.dda.variations import Variations
from dfkd_core.methods.deepinversion.config import DeepInversionConfig
from dfkd_core.methods.deepinversion.synthesis import DeepInversion
from dfkd_core.methods.diffdfkd.config import GuidanceConfig
from dfkd_core.methods.diffdfkd.source import Diffusion
from dfkd_core.methods.hidfd.models import Generator, GeneratorSpec
from dfkd_core.methods.hidfd.source import GanSamples
from dfkd_core.store import SampleStore

ROOT = Path(__file__).resolve().parent.parent


def test_the_per_class_plan_is_deterministic_disjoint_across_classes_and_keeps_its_seeds_when_grown():
    plan = per_class_plan([0, 1, 2], 4, 3, seed=7)
    assert plan == per_class_plan([0, 1, 2], 4, 3, seed=7)
    assert [k.target for k in plan] == [0] * 4 + [1] * 4 + [2] * 4  # class by class (CutMix partners)
    seeds = {c: {k.seed for k in plan if k.target == c} for c in range(3)}
    assert not (seeds[0] & seeds[1]) and not (seeds[0] & seeds[2]) and not (seeds[1] & seeds[2])
    assert len({k.seed for k in plan}) == len({k.id for k in plan}) == 12
    grown = per_class_plan([0, 1, 2], 6, 3, seed=7)
    assert {k for k in plan} <= set(grown)  # a larger per_class keeps the samples it had
    assert per_class_plan([1], 2, 3, seed=0) == [Key(1, 1), Key(4, 1)]  # seed + k * K + c


def test_the_flat_and_balanced_plans():
    assert flat_plan(3, 5) == [Key(5), Key(6), Key(7)]
    assert [k.target for k in flat_plan(4, 0, [2, 0, 1, 2])] == [2, 0, 1, 2]
    plan = balanced_plan(3, 7, seed=2)
    assert [sum(k.target == c for k in plan) for c in range(3)] == [3, 2, 2]
    assert len({k.id for k in plan}) == 7 and plan == balanced_plan(3, 7, seed=2)
    from dfkd_core.methods.hidfd.job import balanced_chunks  # the app's HiDFD Send, in bounded pieces
    pieces = list(balanced_chunks(3, 7, seed=2, chunk=3))
    assert [len(t) for t, _ in pieces] == [3, 3, 1]
    assert [Key(s, t) for ts, ss in pieces for t, s in zip(ts, ss)] == plan


# ---- every source kind through the one writer: resume makes exactly the missing keys ----

@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return small_teacher()


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    return load_backbone(tiny_pixel_prior(tmp_path_factory.mktemp("prior")), local_files_only=True)


def _diffusion(strength):
    def make(root, teacher, prior):
        return Diffusion(prior, teacher, GuidanceConfig(steps=2, strength=strength, candidates=1), per_class=2)
    return make


def _real(root, teacher, prior):
    images = (torch.arange(8 * 32 * 32) % 251).to(torch.uint8).view(8, 1, 32, 32)
    return RealImages(teacher, ImageDataset(images, torch.zeros(8, dtype=torch.long), NAMES, "pool"), [5, 1, 7, 2, 0])


def _gan(root, teacher, prior):
    torch.manual_seed(1)
    return GanSamples(Generator(GeneratorSpec(3, 1, 32, z_dim=8, ch=4)).eval(), teacher, 5, seed=3)


def _dda(root, teacher, prior):
    kit = store_with_variations(root.parent / f"{root.name}-kit")
    SampleStore(kit.root).copy_to(kit.manifest().query("variation == 0")["id"].tolist()[:3], root)
    return Variations(SampleStore(root), prior, teacher, DDAConfig(variations=2, strength=0.5, steps=4))


SOURCES = {
    "guided": _diffusion(0.3),
    "unguided": _diffusion(0.0),
    "noise": lambda root, teacher, prior: Noise(teacher, 5, seed=4),
    "real": _real,
    "deepinversion": lambda root, teacher, prior: DeepInversion(teacher, DeepInversionConfig(iterations=2), 2, 9),
    "gan": _gan,
    "dda": _dda,
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_every_source_resumes_with_exactly_the_missing_keys_and_the_same_images(kind, teacher, prior, tmp_path):
    whole_store, cut_store = SampleStore(tmp_path / "whole"), SampleStore(tmp_path / "cut")
    whole_source = SOURCES[kind](whole_store.root, teacher, prior)
    source = SOURCES[kind](cut_store.root, teacher, prior)
    keys = source.plan()
    assert keys == source.plan() == whole_source.plan() and len(keys) >= 5
    made = []
    make = source.make
    source.make = lambda chunk, should_stop=None: (made.append(list(chunk)), make(chunk, should_stop))[1]
    assert write_source(whole_source, whole_store, keys, batch_size=2) == len(keys)

    stop = threading.Event()  # set once the first batch is stored: the second batch is cancelled
    with pytest.raises(Cancelled):
        write_source(source, cut_store, keys, 2, progress=lambda done, total: stop.set(), should_stop=stop.is_set)
    first = cut_store.manifest()
    varied = int((first["variation"] == 0).sum()) if kind == "dda" else 0  # DDA's store holds its sources
    assert len(first) - varied == 2  # one whole batch, the unfinished one not stored
    made.clear()
    progress = []
    assert write_source(source, cut_store, keys, 2, progress=lambda *p: progress.append(p)) == len(keys) - 2
    assert [k for chunk in made for k in chunk] == keys[2:]  # exactly the missing keys, in plan order
    assert progress[-1] == (len(keys), len(keys))
    assert write_source(source, cut_store, keys, 2) == 0  # nothing left

    whole, cut = whole_store.manifest().set_index("id"), cut_store.manifest().set_index("id")
    assert sorted(whole.index) == sorted(cut.index) and cut.index.is_unique
    ids = list(whole.index)
    columns = ["target", "seed", "variation"]
    assert (cut.loc[ids, columns] == whole.loc[ids, columns]).all().all()
    assert torch.equal(cut_store.images(ids), whole_store.images(ids))  # seed for seed


def test_a_made_batch_is_refused_when_its_ids_are_taken_and_replaced_only_when_asked(teacher, tmp_path):
    store = SampleStore(tmp_path / "set")
    batch = Noise(teacher, 3).make(flat_plan(3))
    write_source(Made(batch, teacher, {"a": 1}), store, Made(batch, teacher, {}).plan(), 3, existing=REFUSE)
    source = Made(batch, teacher, {"a": 2})
    with pytest.raises(DfkdError, match="already holds 3"):
        write_source(source, store, source.plan(), 3, existing=REFUSE)
    assert len(store.manifest()) == 3 and len(store.settings()) == 1
    write_source(source, store, source.plan(), 3, existing=REPLACE)
    assert len(store.manifest()) == 3 and len(store.settings()) == 2
    with pytest.raises(DfkdError, match="existing must be"):
        write_source(source, store, source.plan(), 3, existing="overwrite")


# ---- one writer: nothing else in the engine or the app writes batches to a store ----

WRITER = "dfkd_core/methods/writer.py"


def store_writes(tree: ast.AST) -> list[int]:
    """Lines that add a batch to a store: store_batch(...), or an .add(batch, class_names, settings, ...)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        method = isinstance(node.func, ast.Attribute)
        name = node.func.attr if method else getattr(node.func, "id", "")
        if name == "store_batch" or (method and name == "add" and len(node.args) + len(node.keywords) >= 3):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_a_writer():
    code = "store.add(batch, names, {})\nseen.add(x)\nadd(a, b, c)\nstore_batch(s, b, t, {})"
    assert store_writes(ast.parse(code)) == [1, 4]


def test_only_the_one_writer_adds_batches_to_a_store():
    files = [*ROOT.glob("dfkd_core/**/*.py"), *ROOT.glob("components/**/*.py"), ROOT / "app.py"]
    writers = {}
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("dfkd_core/store/") or rel == WRITER:
            continue
        lines = store_writes(ast.parse(path.read_text(), rel))
        if lines:
            writers[rel] = lines
    assert writers == {}, f"batches written outside sources.write_source: {writers}"
    assert store_writes(ast.parse((ROOT / WRITER).read_text())), "the writer itself must be found by the check"


# ---- one seed plan: no other module numbers its samples' seeds ----

PLANS = "dfkd_core/methods/base.py"


def _seed_like(node) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name.endswith("seed") or name == "base"


def _bare_names(node) -> set[str]:
    """Names in `node` that are not the object of an attribute (k in k.seed is not bare)."""
    inner = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in inner}


def seed_plans(tree: ast.AST) -> list[int]:
    """Lines where a loop numbers seeds: `seed + <loop variable ...>` inside a for loop or a comprehension."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.For):
            loops = [(node.target, node)]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            loops = [(g.target, node) for g in node.generators]
        else:
            continue
        for target, body in loops:
            bound = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            lines += [n.lineno for n in ast.walk(body) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add)
                      and _seed_like(n.left) and _bare_names(n.right) & bound]
    return sorted(set(lines))


def test_the_check_finds_a_seed_plan():
    code = ("seeds = [seed + j for j in range(n)]\n"
            "keys = [(c, cfg.seed + k * K + c) for c in cs for k in range(m)]\n"
            "for j in range(n):\n    out.append(base + j)\n"
            "images = [noise(self.seed + k.seed) for k in keys]\n")  # a key's own seed offsets an RNG: no plan
    assert seed_plans(ast.parse(code)) == [1, 2, 4]


def test_only_the_one_seed_plan_numbers_seeds():
    files = [*ROOT.glob("dfkd_core/**/*.py"), *ROOT.glob("components/**/*.py"), ROOT / "app.py"]
    plans = {}
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        lines = seed_plans(ast.parse(path.read_text(), rel))
        if lines and rel != PLANS:
            plans[rel] = lines
    assert plans == {}, f"seeds planned outside {PLANS}: {plans}"
    assert seed_plans(ast.parse((ROOT / PLANS).read_text())), "the seed plans themselves must be found by the check"
