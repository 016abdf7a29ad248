"""The app's tools for API and MCP clients (`DFKD_MCP=1 python app.py` serves them over MCP):
generate samples, score a sample set, distil a student. Each calls the engine functions the
tabs call (compare_job and add_to_sample_set as the Samples tab, distill_settings and
distill_job as the Distill tab) and waits its turn in the same lines. Gradio reads each
function's docstring and type hints as the tool's description and arguments."""

from dataclasses import asdict, replace

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.judges import judge_store
from dfkd_core.judges.batch import demo_panel
from dfkd_core.methods.diffdfkd.preview import app_defaults, compare_job, sample_seeds
from dfkd_core.methods.writer import add_to_sample_set
from dfkd_core.paths import PRIOR, TEACHER, checked_name
from dfkd_core.pipeline.runs import distill_job, distill_settings, sample_sets
from dfkd_core.runtime.streaming import stream
from dfkd_core.store.sample_sets import open_sample_set

from . import line
from .common import field, session_teacher, shows_user_errors
from .gpu import SAMPLING_S, TRAINING_S, gpu

MAX_TOOL_SAMPLES = 64
MAX_TOOL_EPOCHS = 50


@shows_user_errors
@gpu(SAMPLING_S)
def generate_guided_samples(classes: str, per_class: int = 2, strength: float = 0.08, seed: int = 0,
                            sample_set: str = "", request: gr.Request = None) -> dict:
    """Generate teacher-guided diffusion samples with the demo kit (WRN-16-2 Fashion-MNIST
    teacher, demo diffusion prior), beside unguided samples on the same seeds.

    Args:
        classes: comma-separated class names, e.g. "Trouser, Bag" (Fashion-MNIST classes).
        per_class: samples per class (1-16; at most 64 in all).
        strength: guidance strength (0 = unguided; the app's default is 0.08).
        seed: first seed; each sample gets its own seed from it.
        sample_set: if given, the guided samples are added to this sample set (a plain name).

    Returns:
        {"samples": [{class, seed, p_guided, p_unguided}], "mean_p_guided", "mean_p_unguided",
        "sample_set"}: p is the teacher's probability of the target class.
    """
    teacher = session_teacher(None)
    names = teacher.class_names
    wanted = [c.strip() for c in str(classes).split(",") if c.strip()]
    if not wanted or any(c not in names for c in wanted):
        raise DfkdError(f"classes must be comma-separated names among {names}; got {classes!r}.")
    per_class = field(per_class, "per_class", whole=True, low=1, high=16)
    targets = [names.index(c) for c in wanted for _ in range(per_class)]
    if len(targets) > MAX_TOOL_SAMPLES:
        raise DfkdError(f"At most {MAX_TOOL_SAMPLES} samples per call; asked for {len(targets)}.")
    cfg = replace(app_defaults(), strength=field(strength, "strength", low=0, high=2))
    seeds = sample_seeds(targets, field(seed, "seed", whole=True, low=0))
    source = str(PRIOR)
    with line.turn(line.PREVIEW, request, "a Generate (API)"):
        backbone = load_backbone_cached(source)
        *_, (_, (guided, unguided)) = stream(compare_job, backbone, teacher, targets, seeds, cfg)
    if sample_set:  # the settings a Samples-tab batch records, so a set holds one kind of record
        add_to_sample_set(sample_set, guided, teacher, {**asdict(cfg), "backbone": source, "class_names": names})
    return {"samples": [{"class": names[t], "seed": s, "p_guided": round(pg, 4), "p_unguided": round(pu, 4)}
                        for t, s, pg, pu in zip(targets, seeds, guided.target_prob.tolist(),
                                                unguided.target_prob.tolist())],
            "mean_p_guided": float(guided.target_prob.mean()), "mean_p_unguided": float(unguided.target_prob.mean()),
            "sample_set": sample_set or None}


@shows_user_errors
def score_sample_set(sample_set: str, request: gr.Request = None) -> dict:
    """Judge every sample of a sample set: how often each judge (the teacher, an independent
    CNN, and texture-proof pixel judges fit on real Fashion-MNIST) calls a sample its target
    class, the Fréchet distance to real test images, and within-class diversity.

    Args:
        sample_set: the name of one of the app's sample sets (see the Distill tab's list).

    Returns:
        The judge panel's result: {"judges": {id: {label, kind, agreement, ...}}, "frechet", "diversity", ...}.
    """
    store = open_sample_set(checked_name(sample_set))
    with line.turn(line.PREVIEW, request, "scores (API)"):
        result = judge_store(store, demo_panel(session_teacher(None)))
    result.pop("class_names", None)
    return result


@shows_user_errors
@gpu(TRAINING_S)
def distill_student(sample_set: str, student: str = "wrn_16_1", epochs: int = 5, run_name: str = "mcp-student",
                    request: gr.Request = None) -> dict:
    """Distil a student classifier from the demo teacher on a sample set (knowledge
    distillation on the synthetic images), tested on real Fashion-MNIST when installed.

    Args:
        sample_set: the name of one of the app's sample sets.
        student: the student's architecture (e.g. wrn_16_1, resnet8).
        epochs: training epochs (1-50).
        run_name: the run's name; the same name resumes an unfinished run.

    Returns:
        The run's results (test accuracy when measured) and the exported files.
    """
    sets = sample_sets()
    if sample_set not in sets:
        raise DfkdError(f"Unknown sample set {sample_set!r}; found: {', '.join(sets) or 'none'}.")
    settings = distill_settings({"student": student, "eval": "fashion-mnist",
                                 "epochs": field(epochs, "epochs", whole=True, low=1, high=MAX_TOOL_EPOCHS)})
    teacher, spec = session_teacher(None), {"source": str(TEACHER)}
    with line.turn(line.HEAVY, request, "a distillation (API)"):
        *_, (kind, out) = stream(distill_job, sets[sample_set], settings, checked_name(run_name, "Run"), teacher,
                                 spec)
    return {"results": out["results"], "files": [str(f) for f in out["files"]]}


def register() -> None:
    """Endpoints of the enclosing gr.Blocks (and MCP tools when launched with mcp_server)."""
    for fn, pool in ((generate_guided_samples, line.PREVIEW_POOL), (score_sample_set, line.PREVIEW_POOL),
                     (distill_student, line.HEAVY_POOL)):
        gr.api(fn, api_name=fn.__name__, concurrency_id=pool, concurrency_limit=line.POOL_SIZE)
