"""Samples tab: the main controls and Generate at the top, expert settings under "Advanced"
(each control's range and help from GuidanceConfig's declarations); guided and unguided
samples of each seed side by side (streamed as they form), the judges' figures beside the
teacher's p, a filmstrip, "Watch a sample form" (trajectory_panel.py), a settings grid
(sweep_panel.py), and adding the finished batch to a sample set. Cancel stops the tab's
job, also while it waits in line; a cancelled batch is never kept."""

import random
from dataclasses import asdict

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.errors import Cancelled
from dfkd_core.methods.diffdfkd.config import CutMixConfig, GuidanceConfig
from dfkd_core.methods.diffdfkd.preview import app_defaults, compare_job, filmstrip_frames, sample_seeds
from dfkd_core.methods.writer import add_to_sample_set
from dfkd_core.runtime.streaming import stream

from . import cancelling, examples, figures, line, phone, sweep_panel, trajectory_panel, warming
from . import samples_views as views
from .common import field, session_teacher, shows_user_errors
from .fields import checked
from .gpu import SAMPLING_S, gpu
from .reporting import on
from .samples_config import (
    DEMO_PRIOR,
    HUB,
    LOCAL,
    backbone_source,
    class_indices,
    cutmix_range,
    guidance,
    window_pair,
)
from .settings_controls import info, slider

__all__ = ["DEMO_PRIOR", "HUB", "LOCAL", "build", "generate_ui", "cancel_ui", "add_ui"]
JOB = "samples"  # the Cancel button's job names (components/cancelling.py): this tab's three jobs
JOBS = (JOB, trajectory_panel.JOB, sweep_panel.JOB)


@shows_user_errors
@gpu(SAMPLING_S)
def generate_ui(teacher_spec, classes, per_class, strength, backbone_kind, backbone_path, bn, steps, window_start,
                window_end, mode, candidates, every, eta, seed, use_cutmix, cutmix_step, cutmix_alpha,
                request: gr.Request = None):
    """Generate teacher-guided samples and unguided samples on the same seeds. Yields the page's
    updates; only a finished job's last one holds the batch that "Add to sample set" stores."""
    teacher = session_teacher(teacher_spec)
    per_class = field(per_class, "samples per class", whole=True, low=1)
    targets = [c for c in class_indices(teacher, classes) for _ in range(per_class)]
    seeds = sample_seeds(targets, field(seed, "seed", whole=True))
    cfg = guidance(strength, bn, steps, window_start, window_end, mode, candidates, every, eta, use_cutmix, cutmix_step,
                   cutmix_alpha)
    source, names, frames = backbone_source(backbone_kind, backbone_path), teacher.class_names, []
    stop = cancelling.start(request, JOB)
    # the previous batch stops being the one to add as soon as a new one starts
    first = ("The app has just started: its models are loading (once, for everyone) ..." if warming.in_progress()
             else "Waiting for a free slot ...")
    yield first, figures.note("Starting ..."), gr.skip(), gr.skip(), None, ""
    try:
        with line.PREVIEW.place(request, "a Generate") as ticket:
            yield from _generate(ticket, stop, source, teacher, targets, seeds, cfg, names, frames)
    except Cancelled as e:
        yield f"**{e}** Nothing was kept: generate again to add a batch.", gr.skip(), gr.skip(), gr.skip(), None, \
            gr.skip()
    finally:
        cancelling.finish(request, JOB, stop)


def _generate(ticket, stop, source, teacher, targets, seeds, cfg, names, frames):
    """generate_ui's updates from its turn in line on."""
    for place in ticket.wait(stop):
        yield place, gr.skip(), gr.skip(), gr.skip(), None, gr.skip()
    yield "Loading the diffusion model ...", gr.skip(), gr.skip(), gr.skip(), None, gr.skip()
    backbone = load_backbone_cached(source)
    for item in stream(compare_job, backbone, teacher, targets, seeds, cfg, stop=stop):
        if item[0] == "preview":
            _, step, total, images = item
            frames.append((step, total, images[0]))
            yield (f"Guided pass: step {step}/{total}, then the same seeds unguided ...",
                   views.forming_html(images, targets, names, step, total), gr.skip(), gr.skip(), None, gr.skip())
        else:
            guided, unguided = item[1]
            strip = views.filmstrip_html(filmstrip_frames(frames, 5), f"{names[targets[0]]} · seed {seeds[0]}")
            summary = (f"**{len(seeds)} samples.** Teacher's mean p(target): **{guided.target_prob.mean():.2f}** "
                       f"guided vs **{unguided.target_prob.mean():.2f}** unguided (strength 0, same seeds).")
            yield (summary, views.pairs_html(guided, unguided, names) + views.judged_html(teacher, guided, unguided),
                   strip, views.cutmix_panel(guided, backbone.latent_shape()[-1]),
                   {"batch": guided, "names": names, "teacher": teacher,
                    "settings": {**asdict(cfg), "backbone": source, "class_names": names}}, gr.skip())


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, *JOBS):
        return "Cancel requested: the job stops after its current step (or leaves the line)."
    return "Nothing of yours is running."


@shows_user_errors
def add_ui(last, name):
    """Add the last finished batch to the sample set `name` (the engine refuses samples it holds)."""
    if not last:
        raise DfkdError("Generate a batch first (a cancelled batch is never kept).")
    store = add_to_sample_set(name, last["batch"], last["teacher"], last["settings"])
    return f"Added {len(last['batch'].seeds)} samples to sample set `{name}` ({len(store.manifest())} in the set)."


def _advanced(d: GuidanceConfig) -> dict:
    """The expert settings (inside the open "Advanced settings" accordion), by name."""
    c = {"backbone_kind": gr.Radio([DEMO_PRIOR, LOCAL, HUB], value=DEMO_PRIOR, label="Diffusion backbone",
                                   info="The image generator the teacher guides: the demo kit's prior, a diffusers "
                                        "folder, or a hub id"),
         "backbone_path": gr.Textbox(label="Folder or hub id (e.g. google/ddpm-cifar10-32)", visible=False,
                                     info="Pixel UNet or Stable Diffusion pipelines; hub ids load from the cache")}
    c["steps"] = slider(GuidanceConfig, "steps", "Denoising steps", 1, shown=(5, 100), value=d.steps,
                        extra="More steps: slower, smoother images")
    c["eta"] = slider(GuidanceConfig, "eta", "Sampler noise (eta)", 0.1, value=d.eta,
                      extra=f"Default {d.eta:g} (DDIM): the same seed always gives the same image")
    with gr.Row():
        c["seed"] = checked(gr.Number(value=0, precision=0, label="Seed",
                                      info="The starting noise: the same seed and settings give the same images"))
        c["randomize"] = gr.Button("Randomize", size="sm")
    c["bn"] = slider(GuidanceConfig, "bn", "BN-statistics weight (bn)", 0.01, shown=(0, 1), value=d.bn)
    with gr.Row():
        c["window_start"] = checked(gr.Slider(0, 1, value=d.window[0], step=0.05, label="Guide from",
                                              info="Fraction of the trajectory where guidance starts (0: the noise)"))
        c["window_end"] = checked(gr.Slider(0, 1, value=d.window[1], step=0.05, label="Guide until",
                                            info="Fraction where it stops (1: the last step)"))
    c["mode"] = gr.Radio(["x0", "full"], value=d.mode, label="Gradient", info=info(GuidanceConfig, "mode"))
    c["candidates"] = slider(GuidanceConfig, "candidates", "Candidate starts", 1, shown=(1, 32), value=d.candidates)
    c["every"] = slider(GuidanceConfig, "every", "Fresh teacher gradient every k-th step", 1, shown=(1, 4),
                        value=d.every, extra=f"From {d.every_from:.0%} of the guided steps on; 1 is slowest")
    c["use_cutmix"] = gr.Checkbox(label="Latent CutMix: mix same-class latents during sampling",
                                  info="Pastes a box of another same-class sample's latent in, mid-trajectory")
    with gr.Row():  # its range follows the steps: a step of the trajectory, 0 to steps - 1
        c["cutmix_step"] = checked(gr.Slider(0, d.steps - 1, value=min(5, d.steps - 1), step=1,
                                             label="CutMix at step", info=info(CutMixConfig, "at_steps")))
        c["cutmix_alpha"] = slider(CutMixConfig, "alpha", "CutMix Beta(α, α)", 0.1, shown=(0.1, 5))
    return c


def build(teacher_spec: gr.State) -> dict:
    """The tab's components; returns the controls that examples fill, by name."""
    d, last = app_defaults(), gr.State(None)
    first = (examples.load() or [None])[0]
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            classes = gr.CheckboxGroup(_class_names(), value=_class_names()[:4], label="Classes", elem_id="classes",
                                       info="The classes to make samples of (the teacher's classes)")
            # one above the other: side by side, their help text ran down in narrow columns
            per_class = checked_slider(1, 8, 2, "Samples per class", "Images made of each class, each its own seed")
            strength = slider(GuidanceConfig, "strength", "Guidance strength", 0.01, shown=(0, 0.5),
                              value=d.strength, elem_id="strength",
                              extra="How hard the teacher pulls each step towards the class")
            with gr.Row():
                run = gr.Button("Generate", variant="primary", elem_id="generate-samples")
                cancel = gr.Button("Cancel", variant="stop", elem_id="cancel-samples")
            cancel_note = gr.Markdown(elem_id="samples-cancel-note")
            with gr.Accordion("Advanced settings", open=False):
                c = _advanced(d)
            with gr.Row():
                set_name = gr.Textbox(value="my-samples", label="Sample set", scale=2,
                                      info="A plain name; the set is created on first use")
                add = gr.Button("Add to sample set", scale=1, elem_id="add-samples")
            added = gr.Markdown(elem_id="samples-added")
        with gr.Column(scale=2):
            status = gr.Markdown("Pre-made example below (no compute): press **Generate** to make your own.",
                                 elem_id="samples-status")
            pairs = gr.HTML(examples.example_html(first) if first else "", css_template=figures.CSS,
                            elem_id="samples-pairs")
            with gr.Accordion("Trajectory filmstrip: x̂0 of the first sample as it forms", open=True):
                filmstrip = gr.HTML(views.filmstrip_html([], ""), css_template=figures.CSS, elem_id="filmstrip")
            settings = [strength, c["bn"], c["steps"], c["window_start"],
                        c["window_end"], c["mode"], c["candidates"], c["every"], c["eta"], c["use_cutmix"],
                        c["cutmix_step"], c["cutmix_alpha"]]
            backbone = [c["backbone_kind"], c["backbone_path"]]
            trajectory_panel.build(teacher_spec, classes, _class_names(), settings, backbone)
            sweep_panel.build(teacher_spec, settings, backbone, c["seed"])
            with gr.Accordion("Latent CutMix: partner, and the result with the pasted box (λ: share kept)",
                              open=False):
                cutmix = gr.HTML(figures.note("Turn on Latent CutMix under Advanced settings, then Generate."),
                                 css_template=figures.CSS, elem_id="cutmix")
    _wire(teacher_spec, classes, per_class, strength, c, run, cancel, cancel_note, status, pairs, filmstrip, cutmix,
          last, add, set_name, added)
    return {"classes": classes, "per_class": per_class, "strength": strength, "seed": c["seed"], "steps": c["steps"],
            "eta": c["eta"], "status": status}


def _wire(teacher_spec, classes, per_class, strength, c, run, cancel, cancel_note, status, pairs, filmstrip, cutmix,
          last, add, set_name, added):
    private = {"api_visibility": "private", "concurrency_limit": None, "queue": False}
    c["backbone_kind"].change(lambda k: gr.update(visible=k != DEMO_PRIOR), c["backbone_kind"], c["backbone_path"],
                              **private)
    c["randomize"].click(lambda: random.randint(0, 2 ** 31 - 1), None, c["seed"], **private)
    on(c["steps"].change, cutmix_range, [c["steps"], c["cutmix_step"]], c["cutmix_step"], status,
       **private)  # the CutMix step stays a step of the trajectory
    for moved, control in (("start", c["window_start"]), ("end", c["window_end"])):
        on(control.release, lambda a, b, moved=moved: window_pair(a, b, moved), [c["window_start"], c["window_end"]],
           [c["window_start"], c["window_end"]], status, **private)
    clicked = cancelling.armed(run.click, JOB)
    on(clicked, generate_ui, [teacher_spec, classes, per_class, strength, c["backbone_kind"], c["backbone_path"],
                              c["bn"], c["steps"], c["window_start"], c["window_end"], c["mode"], c["candidates"],
                              c["every"], c["eta"], c["seed"], c["use_cutmix"], c["cutmix_step"], c["cutmix_alpha"]],
       [status, pairs, filmstrip, cutmix, last, cancel_note], status, api_name="generate_samples",
       concurrency_id=line.PREVIEW_POOL, concurrency_limit=line.POOL_SIZE)
    phone.scroll_to_result(run, "samples-status")
    # not cancels=[...]: the job must end itself, so the tab can say where it stopped
    # its own line, not the status line: the job's last update ("Cancelled at step N") must not be overwritten
    cancel.click(cancel_ui, None, cancel_note, api_name="cancel_samples", concurrency_limit=None, queue=False)
    on(add.click, add_ui, [last, set_name], added, added, api_name="add_to_sample_set", concurrency_limit=None)
    teacher_spec.change(_refresh_classes, teacher_spec, classes, api_visibility="private", concurrency_limit=None)


def checked_slider(low, high, value, label, text, **kw):
    return checked(gr.Slider(low, high, value=value, step=1, label=label, info=text, **kw))


def _refresh_classes(spec):
    names = session_teacher(spec).class_names
    return gr.update(choices=names, value=names[:4])


def _class_names():
    try:
        return session_teacher(None).class_names
    except DfkdError:
        return [str(i) for i in range(10)]
