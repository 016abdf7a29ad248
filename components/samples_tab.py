"""Samples tab: teacher-guided diffusion samples, streamed as they form, beside unguided
samples on the same seeds; the Latent CutMix panel; adding samples to a sample set."""

import random
from dataclasses import asdict

import gradio as gr
from PIL import ImageDraw

from dfkd_core import DfkdError
from dfkd_core.augment.cutmix import CutMixConfig
from dfkd_core.data.store import to_uint8
from dfkd_core.demo import PRIOR
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.guidance import Cancelled, GuidanceConfig
from dfkd_core.sampling import add_to_sample_set, compare_job, cutmix_box_in_pixels, sample_seeds
from dfkd_core.streaming import stream

from .common import PREVIEW_SCALE, enlarged, field, session_teacher, user_error
from .fields import checked

DEMO_PRIOR, LOCAL, HUB = "Demo prior (Fashion-MNIST + shapes)", "Local folder", "Hub id"


def _pil(images):
    return [enlarged(a) for a in to_uint8(images)]


def _captioned(batch, names):
    return [(img, f"{names[y]}: p={p:.2f}") for img, y, p in
            zip(_pil(batch.images), batch.targets.tolist(), batch.target_prob.tolist())]


def _cutmix_panel(batch, names, latent_size):
    """(partner, result with the pasted box outlined) for each sample that was mixed."""
    images, panel = _pil(batch.images), []
    seed_index = {(y, s): i for i, (y, s) in enumerate(zip(batch.targets.tolist(), batch.seeds))}
    for i, recs in enumerate(batch.records):
        for rec in recs[:1]:
            j = seed_index.get((int(batch.targets[i]), rec["partner"]))
            if j is None:
                continue
            top, left, bottom, right = cutmix_box_in_pixels(rec, latent_size, batch.images.shape[-1] * PREVIEW_SCALE)
            boxed = images[i].copy()
            ImageDraw.Draw(boxed).rectangle([left, top, right - 1, bottom - 1], outline=(255, 64, 64), width=2)
            panel += [(images[j], f"partner (seed {rec['partner']})"),
                      (boxed, f"seed {batch.seeds[i]} after step {rec['step']}, λ={rec['lambda']:.2f}")]
    return panel


def generate_ui(teacher_spec, backbone_kind, backbone_path, classes, per_class, strength, bn, steps,
                window_start, window_end, mode, candidates, every, eta, seed, use_cutmix, cutmix_step, cutmix_alpha):
    try:
        teacher = session_teacher(teacher_spec)
        if not classes:
            raise DfkdError("Pick at least one class.")
        source = str(PRIOR) if backbone_kind == DEMO_PRIOR else (backbone_path or "").strip()
        if not source:
            raise DfkdError("Enter the backbone's local folder or hub id.")
        per_class, seed = field(per_class, "samples per class", whole=True, low=1), field(seed, "seed", whole=True)
        cutmix = CutMixConfig([field(cutmix_step, "CutMix step", whole=True)], field(cutmix_alpha, "CutMix alpha")) \
            if use_cutmix else None
        cfg = GuidanceConfig(steps=field(steps, "steps", whole=True), strength=field(strength, "strength"),
                             bn=field(bn, "bn"),
                             window=(field(window_start, "guide from"), field(window_end, "guide until")),
                             mode=mode, candidates=field(candidates, "candidates", whole=True),
                             every=field(every, "every", whole=True), eta=field(eta, "eta"), cutmix=cutmix)
        cfg.validate()
        backbone = load_backbone_cached(source)
        names = teacher.class_names
        targets = [names.index(c) for c in classes for _ in range(per_class)]
        seeds = sample_seeds(targets, seed)  # the engine's plan: one seed per sample
        for item in stream(compare_job, backbone, teacher, targets, seeds, cfg):
            if item[0] == "preview":
                _, step, total, images = item
                yield (gr.update(value=_pil(images), label=f"x̂0 forming: step {step}/{total}"),
                       gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip())
            else:
                guided, unguided = item[1]
                latent = backbone.latent_shape()[-1]
                summary = (f"Teacher's mean probability of the target: **{guided.target_prob.mean():.2f}** guided vs "
                           f"**{unguided.target_prob.mean():.2f}** unguided (strength 0, same seeds).")
                yield (gr.skip(), _captioned(guided, names), _captioned(unguided, names),
                       _cutmix_panel(guided, names, latent), summary,
                       {"batch": guided, "names": names, "teacher": teacher,
                        "settings": {**asdict(cfg), "backbone": source, "class_names": names}})
    except (DfkdError, Cancelled) as e:
        raise user_error(str(e) or "Cancelled.") from None


def add_ui(last, name):
    if not last:
        raise user_error("Generate samples first.")
    try:
        store = add_to_sample_set(name, last["batch"], last["teacher"], last["settings"])
    except DfkdError as e:
        raise user_error(e) from None
    return f"Added {len(last['batch'].seeds)} samples to `{store.root}` ({len(store.manifest())} in the set)."


def build(teacher_spec: gr.State) -> None:
    last = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            backbone_kind = gr.Radio([DEMO_PRIOR, LOCAL, HUB], value=DEMO_PRIOR, label="Diffusion backbone")
            backbone_path = gr.Textbox(label="Folder or hub id (e.g. google/ddpm-cifar10-32)", visible=False)
            classes = gr.CheckboxGroup(_class_names(), value=_class_names()[:4], label="Classes")
            per_class = checked(gr.Slider(1, 8, value=2, step=1, label="Samples per class"))
            strength = checked(gr.Slider(0, 0.5, value=0.08, step=0.01, label="Guidance strength"))
            bn = checked(gr.Slider(0, 1, value=0.0, step=0.01, label="BN-statistics weight (bn)"))
            steps = checked(gr.Slider(5, 100, value=25, step=1, label="Denoising steps"))
            with gr.Row():
                window_start = checked(gr.Slider(0, 1, value=0.0, step=0.05, label="Guide from (fraction)"))
                window_end = checked(gr.Slider(0, 1, value=1.0, step=0.05, label="Guide until (fraction)"))
            mode = gr.Radio(["x0", "full"], value="x0", label="Gradient",
                            info="x0: cheap, without the denoiser's Jacobian; full: through the denoiser")
            candidates = checked(gr.Slider(1, 6, value=GuidanceConfig.candidates, step=1, label="Candidate starts",
                                           info="noises tried per sample; after the first fifth of the steps the "
                                                "teacher keeps the one it finds most like the target"))
            every = checked(gr.Slider(1, 4, value=GuidanceConfig.every, step=1,
                                      label="Fresh teacher gradient every k-th step",
                                      info=f"past the first {GuidanceConfig.every_from:.0%} of the guided steps; the "
                                           "direction is reused between. 1: a fresh gradient at every step (slower)"))
            eta = checked(gr.Slider(0, 1, value=GuidanceConfig.eta, step=0.1, label="Sampler noise (eta)",
                                    info="0: DDIM; 1: ancestral, fresh noise each step (still fixed by the seed); "
                                         "on the demo prior 1 gives cleaner images"))
            with gr.Row():
                seed = checked(gr.Number(value=0, precision=0, label="Seed"))
                randomize = gr.Button("Randomize", size="sm")
            with gr.Accordion("Latent CutMix", open=False):
                use_cutmix = gr.Checkbox(label="Mix same-class latents during sampling")
                cutmix_step = checked(gr.Slider(0, 99, value=5, step=1, label="At step"))
                cutmix_alpha = checked(gr.Slider(0.1, 5, value=1.0, step=0.1, label="Beta(α, α)"))
            with gr.Row():
                run = gr.Button("Generate", variant="primary", elem_id="generate-samples")
                cancel = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=2):
            preview = gr.Gallery(label="x̂0 forming", columns=8, height=170, object_fit="contain", elem_id="preview")
            summary = gr.Markdown(elem_id="samples-summary")
            guided = gr.Gallery(label="Guided", columns=8, height=260, object_fit="contain", elem_id="guided")
            unguided = gr.Gallery(label="Same seeds, strength 0", columns=8, height=260, object_fit="contain",
                                  elem_id="unguided")
            cutmix = gr.Gallery(label="Latent CutMix: partner, and the result with the pasted box", columns=4,
                                height=220, object_fit="contain")
            with gr.Row():
                set_name = gr.Textbox(value="my-samples", label="Sample set")
                add = gr.Button("Add to sample set")
            added = gr.Markdown()

    backbone_kind.change(lambda k: gr.update(visible=k != DEMO_PRIOR), backbone_kind, backbone_path,
                         api_visibility="private")
    randomize.click(lambda: random.randint(0, 2 ** 31 - 1), None, seed, api_visibility="private")
    ev = run.click(generate_ui, [teacher_spec, backbone_kind, backbone_path, classes, per_class, strength, bn, steps,
                                 window_start, window_end, mode, candidates, every, eta, seed, use_cutmix,
                                 cutmix_step, cutmix_alpha],
                   [preview, guided, unguided, cutmix, summary, last], api_name="generate_samples",
                   concurrency_id="compute", concurrency_limit=1)
    cancel.click(None, None, None, cancels=[ev])
    add.click(add_ui, [last, set_name], added, api_name="add_to_sample_set")
    teacher_spec.change(_refresh_classes, teacher_spec, classes, api_visibility="private")


def _refresh_classes(spec):
    names = session_teacher(spec).class_names
    return gr.update(choices=names, value=names[:4])


def _class_names():
    try:
        return session_teacher(None).class_names
    except DfkdError:
        return [str(i) for i in range(10)]
