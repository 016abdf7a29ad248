"""Samples tab: the main controls and Generate at the top, expert settings under "Advanced";
guided and unguided samples of each seed side by side (streamed as they form), the judges'
figures beside the teacher's p, a trajectory filmstrip, a strength sweep, and adding the
finished batch to a sample set. Cancel stops the job itself; a cancelled batch is never kept."""

import random
from dataclasses import asdict

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.errors import Cancelled
from dfkd_core.methods.base import add_to_sample_set
from dfkd_core.methods.diffdfkd.config import CutMixConfig, GuidanceConfig
from dfkd_core.methods.diffdfkd.preview import (
    app_defaults,
    compare_job,
    filmstrip_frames,
    sample_seeds,
    strength_rows,
)
from dfkd_core.paths import PRIOR
from dfkd_core.runtime.streaming import stream

from . import cancelling, examples, figures
from . import samples_views as views
from .common import field, session_teacher, shows_user_errors, user_error
from .fields import checked
from .gpu import SAMPLING_S, gpu
from .reporting import on

DEMO_PRIOR, LOCAL, HUB = "Demo prior (Fashion-MNIST + shapes)", "Local folder", "Hub id"
JOB = "samples"  # the Cancel button's job name (components/cancelling.py)
MAX_SWEEP = 6


def _config(teacher_spec, backbone_kind, backbone_path, classes, per_class, strength, bn, steps, window_start,
            window_end, mode, candidates, every, eta, seed, use_cutmix, cutmix_step, cutmix_alpha):
    """(teacher, backbone source, targets, seeds, GuidanceConfig) from the controls, checked."""
    teacher = session_teacher(teacher_spec)
    if not classes:
        raise DfkdError("Pick at least one class.")
    source = str(PRIOR) if backbone_kind in (None, DEMO_PRIOR) else (backbone_path or "").strip()
    if not source:
        raise DfkdError("Enter the backbone's local folder or hub id.")
    per_class, seed = field(per_class, "samples per class", whole=True, low=1), field(seed, "seed", whole=True)
    cutmix = CutMixConfig([field(cutmix_step, "CutMix step", whole=True)], field(cutmix_alpha, "CutMix alpha")) \
        if use_cutmix else None
    cfg = GuidanceConfig(steps=field(steps, "steps", whole=True), strength=field(strength, "strength"),
                         bn=field(bn, "bn"), window=(field(window_start, "guide from"), field(window_end, "guide until")),
                         mode=mode, candidates=field(candidates, "candidates", whole=True),
                         every=field(every, "every", whole=True), eta=field(eta, "eta"), cutmix=cutmix)
    cfg.validate()
    names = teacher.class_names
    unknown = [c for c in classes if c not in names]
    if unknown:
        raise DfkdError(f"Unknown classes {unknown}: the teacher's classes are {names}.")
    targets = [names.index(c) for c in classes for _ in range(per_class)]
    return teacher, source, targets, sample_seeds(targets, seed), cfg


@gpu(SAMPLING_S)
def generate_ui(teacher_spec, classes, per_class, strength, backbone_kind, backbone_path, bn, steps, window_start,
                window_end, mode, candidates, every, eta, seed, use_cutmix, cutmix_step, cutmix_alpha,
                request: gr.Request = None):
    """Generate teacher-guided samples and unguided samples on the same seeds. Yields the page's
    updates; only a finished job's last one holds the batch that "Add to sample set" stores."""
    try:
        teacher, source, targets, seeds, cfg = _config(
            teacher_spec, backbone_kind, backbone_path, classes, per_class, strength, bn, steps, window_start,
            window_end, mode, candidates, every, eta, seed, use_cutmix, cutmix_step, cutmix_alpha)
    except DfkdError as e:
        raise user_error(e) from None
    names, frames = teacher.class_names, []
    stop = cancelling.start(request, JOB)
    # the previous batch stops being the one to add as soon as a new one starts
    yield "Loading the diffusion model ...", figures.note("Starting ..."), gr.skip(), gr.skip(), [], None, ""
    try:
        backbone = load_backbone_cached(source)
        for item in stream(compare_job, backbone, teacher, targets, seeds, cfg, stop=stop):
            if item[0] == "preview":
                _, step, total, images = item
                frames.append((step, total, images[0]))
                yield (f"Guided pass: step {step}/{total}, then the same seeds unguided ...",
                       views.forming_html(images, targets, names, step, total), gr.skip(), gr.skip(), gr.skip(), None,
                       gr.skip())
            else:
                guided, unguided = item[1]
                strip = views.filmstrip_html(filmstrip_frames(frames, 5), f"{names[targets[0]]} · seed {seeds[0]}")
                summary = (f"**{len(seeds)} samples.** Teacher's mean p(target): **{guided.target_prob.mean():.2f}** "
                           f"guided vs **{unguided.target_prob.mean():.2f}** unguided (strength 0, same seeds).")
                yield (summary, views.pairs_html(guided, unguided, names) + views.judged_html(teacher, guided, unguided),
                       strip, gr.skip(), views.cutmix_panel(guided, backbone.latent_shape()[-1]),
                       {"batch": guided, "names": names, "teacher": teacher,
                        "settings": {**asdict(cfg), "backbone": source, "class_names": names}}, gr.skip())
    except Cancelled as e:
        yield (f"**{e}** Nothing was kept: generate again to add a batch.", gr.skip(), gr.skip(), gr.skip(),
               gr.skip(), None, gr.skip())
    except DfkdError as e:
        raise user_error(e) from None
    finally:
        cancelling.finish(request, JOB, stop)


@gpu(SAMPLING_S)
def sweep_ui(teacher_spec, classes, strengths, seed, steps, eta, mode, candidates, every, backbone_kind,
             backbone_path, request: gr.Request = None):
    """Sample the same seeds (one per class, up to 6 classes) at several guidance strengths,
    one row per strength, streamed row by row."""
    try:
        values = [field(v, "strength", low=0, high=2) for v in str(strengths).replace(";", ",").split(",")
                  if v.strip()]
        if not 1 <= len(values) <= MAX_SWEEP:
            raise DfkdError(f"Give 1-{MAX_SWEEP} strengths separated by commas, e.g. 0, 0.04, 0.08, 0.16.")
        teacher, source, targets, seeds, cfg = _config(
            teacher_spec, backbone_kind, backbone_path, list(classes or [])[:MAX_SWEEP], 1, values[0], 0.0, steps,
            0.0, 1.0, mode, candidates, every, eta, seed, False, 0, 1.0)
    except DfkdError as e:
        raise user_error(e) from None
    rows, stop = [], cancelling.start(request, JOB)
    yield figures.note(f"Sampling {len(values)} rows of {len(seeds)} seeds ..."), ""
    try:
        backbone = load_backbone_cached(source)
        for item in stream(strength_rows, backbone, teacher, targets, seeds, cfg, values, stop=stop):
            if item[0] == "row":
                rows.append(views.sweep_row_html(item[1], item[2], teacher.class_names, views.judge_or_none(teacher, item[2])))
                yield "".join(rows), gr.skip()
    except Cancelled as e:
        yield "".join(rows) + figures.note(str(e)), gr.skip()
    except DfkdError as e:
        raise user_error(e) from None
    finally:
        cancelling.finish(request, JOB, stop)


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, JOB):
        return "Cancel requested: the job stops after its current step."
    return "Nothing of yours is running."


@shows_user_errors
def add_ui(last, name):
    """Add the last finished batch to the sample set `name`."""
    if not last:
        raise DfkdError("Generate a batch first (a cancelled batch is never kept).")
    store = add_to_sample_set(name, last["batch"], last["teacher"], last["settings"])
    return f"Added {len(last['batch'].seeds)} samples to `{store.root}` ({len(store.manifest())} in the set)."


def build(teacher_spec: gr.State) -> dict:
    """The tab's components; returns the controls that examples fill, by name."""
    d, last = app_defaults(), gr.State(None)
    first = (examples.load() or [None])[0]
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            classes = gr.CheckboxGroup(_class_names(), value=_class_names()[:4], label="Classes", elem_id="classes")
            with gr.Row():
                per_class = checked(gr.Slider(1, 8, value=2, step=1, label="Samples per class"))
                strength = checked(gr.Slider(0, 0.5, value=d.strength, step=0.01, label="Guidance strength",
                                             elem_id="strength"))
            with gr.Row():
                run = gr.Button("Generate", variant="primary", elem_id="generate-samples")
                cancel = gr.Button("Cancel", variant="stop", elem_id="cancel-samples")
            cancel_note = gr.Markdown(elem_id="samples-cancel-note")
            with gr.Accordion("Advanced settings", open=False):
                backbone_kind = gr.Radio([DEMO_PRIOR, LOCAL, HUB], value=DEMO_PRIOR, label="Diffusion backbone")
                backbone_path = gr.Textbox(label="Folder or hub id (e.g. google/ddpm-cifar10-32)", visible=False)
                steps = checked(gr.Slider(5, 100, value=d.steps, step=1, label="Denoising steps"))
                eta = checked(gr.Slider(0, 1, value=d.eta, step=0.1, label="Sampler noise (eta)",
                                        info=f"0: DDIM; 1: ancestral, fresh noise each step (still fixed by the "
                                             f"seed). Default {d.eta:g}: on the demo prior 1 gives cleaner images"))
                with gr.Row():
                    seed = checked(gr.Number(value=0, precision=0, label="Seed"))
                    randomize = gr.Button("Randomize", size="sm")
                bn = checked(gr.Slider(0, 1, value=d.bn, step=0.01, label="BN-statistics weight (bn)"))
                with gr.Row():
                    window_start = checked(gr.Slider(0, 1, value=d.window[0], step=0.05, label="Guide from"))
                    window_end = checked(gr.Slider(0, 1, value=d.window[1], step=0.05, label="Guide until"))
                mode = gr.Radio(["x0", "full"], value=d.mode, label="Gradient",
                                info="x0: cheap, without the denoiser's Jacobian; full: through the denoiser")
                candidates = checked(gr.Slider(1, 6, value=d.candidates, step=1, label="Candidate starts",
                                               info="noises tried per sample; after the first fifth of the steps "
                                                    "the teacher keeps the one it finds most like the target"))
                every = checked(gr.Slider(1, 4, value=d.every, step=1, label="Fresh teacher gradient every k-th step",
                                          info=f"past the first {d.every_from:.0%} of the guided steps; the "
                                               "direction is reused between. 1: fresh at every step (slower)"))
                use_cutmix = gr.Checkbox(label="Latent CutMix: mix same-class latents during sampling")
                with gr.Row():
                    cutmix_step = checked(gr.Slider(0, 99, value=5, step=1, label="CutMix at step"))
                    cutmix_alpha = checked(gr.Slider(0.1, 5, value=1.0, step=0.1, label="CutMix Beta(α, α)"))
            with gr.Row():
                set_name = gr.Textbox(value="my-samples", label="Sample set", scale=2)
                add = gr.Button("Add to sample set", scale=1, elem_id="add-samples")
            added = gr.Markdown(elem_id="samples-added")
        with gr.Column(scale=2):
            status = gr.Markdown("Pre-made example below (no compute): press **Generate** to make your own.",
                                 elem_id="samples-status")
            pairs = gr.HTML(examples.example_html(first) if first else "", css_template=figures.CSS,
                            elem_id="samples-pairs")
            with gr.Accordion("Trajectory filmstrip: x̂0 of the first sample as it forms", open=True):
                filmstrip = gr.HTML(views.filmstrip_html([], ""), css_template=figures.CSS, elem_id="filmstrip")
            with gr.Accordion("Strength sweep: the same seeds at several strengths", open=True):
                with gr.Row():
                    strengths = gr.Textbox("0, 0.04, 0.08, 0.16, 0.3", label="Strengths", scale=3)
                    sweep_btn = gr.Button("Run sweep", scale=1, elem_id="run-sweep")
                sweep = gr.HTML(figures.note("One row per strength, one sample per class."), css_template=figures.CSS,
                                elem_id="sweep")
            with gr.Accordion("Latent CutMix: partner, and the result with the pasted box (λ: share kept)",
                              open=False):
                cutmix = gr.HTML(figures.note("Turn on Latent CutMix under Advanced settings, then Generate."),
                                 css_template=figures.CSS, elem_id="cutmix")

    backbone_kind.change(lambda k: gr.update(visible=k != DEMO_PRIOR), backbone_kind, backbone_path,
                         api_visibility="private", concurrency_id="light", concurrency_limit=None)
    randomize.click(lambda: random.randint(0, 2 ** 31 - 1), None, seed, api_visibility="private",
                    concurrency_id="light", concurrency_limit=None)
    on(run.click, generate_ui, [teacher_spec, classes, per_class, strength, backbone_kind, backbone_path, bn, steps,
                            window_start, window_end, mode, candidates, every, eta, seed, use_cutmix, cutmix_step,
                            cutmix_alpha], [status, pairs, filmstrip, sweep, cutmix, last, cancel_note], status,
       api_name="generate_samples", concurrency_id="compute", concurrency_limit=1)
    on(sweep_btn.click, sweep_ui, [teacher_spec, classes, strengths, seed, steps, eta, mode, candidates, every,
                                   backbone_kind, backbone_path], [sweep, cancel_note], sweep, api_name="strength_sweep",
       concurrency_id="compute", concurrency_limit=1)
    # not cancels=[...]: the job must end itself, so the tab can say where it stopped
    # its own line, not the status line: the job's last update ("Cancelled at step N") must not be overwritten
    cancel.click(cancel_ui, None, cancel_note, api_name="cancel_samples", concurrency_limit=None)
    on(add.click, add_ui, [last, set_name], added, added, api_name="add_to_sample_set", concurrency_id="light",
       concurrency_limit=None)
    teacher_spec.change(_refresh_classes, teacher_spec, classes, api_visibility="private", concurrency_id="light",
                        concurrency_limit=None)
    return {"classes": classes, "per_class": per_class, "strength": strength, "seed": seed, "steps": steps,
            "eta": eta, "status": status}


def _refresh_classes(spec):
    names = session_teacher(spec).class_names
    return gr.update(choices=names, value=names[:4])


def _class_names():
    try:
        return session_teacher(None).class_names
    except DfkdError:
        return [str(i) for i in range(10)]
