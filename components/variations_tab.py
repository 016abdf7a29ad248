"""Variations tab (DDA): pick samples of a sample set, make SDEdit variations of them at a
chosen strength, see each row of variations beside its source with the cosine of their
teacher features and the teacher's probability, and add them to the set."""

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.augment.dda import DDAConfig, plan, save_variations, source_rows, vary
from dfkd_core.data.store import SampleStore, to_uint8
from dfkd_core.demo import PRIOR
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.filtering import paired_cosines
from dfkd_core.guidance import Cancelled
from dfkd_core.streaming import stream

from . import cancelling
from .common import enlarged, field, session_teacher, shows_user_errors, user_error
from .fields import checked
from .filter_tab import _store
from .samples_tab import DEMO_PRIOR, HUB, LOCAL
from .set_picker import SetPicker

SOURCES_MAX = 48
JOB = "variations"  # its Cancel button's job name (components/cancelling.py)


def sources_ui(label):
    """The set's first sources (click one to pick it) and every source id as choices."""
    if not label:  # no set yet (a fresh install): nothing to show, no pop-up
        return [], [], gr.update(choices=[], value=[])
    try:
        store = _store(label)
        rows = source_rows(store)
    except DfkdError as e:
        raise user_error(e) from None
    shown = rows.head(SOURCES_MAX)
    images = store.images(list(shown["id"])) if len(shown) else None
    items = [(enlarged(a), f"{i} · {c}") for a, i, c in zip(to_uint8(images), shown["id"], shown["class_name"])] \
        if images is not None else []
    return items, list(shown["id"]), gr.update(choices=list(rows["id"]), value=[])


def pick_ui(shown, picked, evt: gr.SelectData):
    sample_id = shown[evt.index]
    picked = list(picked or [])
    return [p for p in picked if p != sample_id] if sample_id in picked else [*picked, sample_id]


def _job(store, chunk, backbone, teacher, cfg, report, should_stop):
    return vary(store, chunk, backbone, teacher, cfg, should_stop=should_stop,
                on_preview=lambda step, total, _images: report(("step", step, total)))


def vary_ui(teacher_spec, label, picked, backbone_kind, backbone_path, strength, variations, steps, guidance, seed,
            request: gr.Request = None):
    try:
        store = _store(label)
        if not picked:
            raise DfkdError("Pick at least one sample (click it in the gallery or choose its id).")
        source = str(PRIOR) if backbone_kind == DEMO_PRIOR else (backbone_path or "").strip()
        if not source:
            raise DfkdError("Enter the backbone's local folder or hub id.")
        n = field(variations, "variations", whole=True, low=1)
        cfg = DDAConfig(variations=n, strength=field(strength, "strength"), steps=field(steps, "steps", whole=True),
                        guidance=field(guidance, "guidance"), seed=field(seed, "seed", whole=True))
        cfg.validate()
        # the engine's plan (as `dfkd augment`): refuses variations the set holds with other
        # settings, skips those it holds with these; it also checks the picks are sources
        chunk = plan(store, cfg, list(picked))
        if not chunk:
            raise DfkdError(f"The set already holds these {n} variations of each picked sample, made with these "
                            "settings. Pick other samples, ask for more variations, or use another set.")
        teacher, backbone = session_teacher(teacher_spec), load_backbone_cached(source)
    except DfkdError as e:
        raise user_error(e) from None
    stop, step = cancelling.start(request, JOB), 0
    try:
        for kind, *payload in stream(_job, store, chunk, backbone, teacher, cfg, stop=stop):
            if kind == "step":
                step = payload[0]
                yield gr.skip(), f"Denoising: step {step} of {payload[1]}", gr.skip()
            else:
                batch = payload[0]
    except Cancelled:  # the gallery and "last" are cleared: Add never saves a cancelled batch
        yield gr.update(value=[], visible=False), f"**Cancelled at step {step}**: no variations were made.", None
        return
    except DfkdError as e:
        raise user_error(e) from None
    finally:
        cancelling.finish(request, JOB, stop)
    sources = store.images(list(picked))
    row_of = {sid: i for i, sid in enumerate(picked)}
    cosines = paired_cosines(teacher, batch.images, sources[[row_of[sid] for sid, _ in chunk]])
    items = []
    for sid, src in zip(picked, to_uint8(sources)):
        items.append((enlarged(src), f"{sid} (source)"))
        for j in (j for j, (s, _) in enumerate(chunk) if s == sid):
            items.append((enlarged(to_uint8(batch.images[j:j + 1])[0]),
                          f"v{chunk[j][1]} · cos {cosines[j]:.2f} · p {batch.target_prob[j]:.2f}"))
    summary = (f"{len(chunk)} variations at s = {cfg.strength:.2f}: mean cosine with their source "
               f"**{cosines.mean():.3f}**, mean p(target) **{batch.target_prob.mean():.2f}**.")
    last = {"root": str(store.root), "batch": batch, "chunk": chunk, "cfg": cfg, "backbone": source,
            "teacher": teacher}
    yield gr.update(value=items, columns=n + 1, visible=True), summary, last


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, JOB):
        return "Cancelling: stopping after the current denoising step ..."
    return "Nothing of yours is running."


@shows_user_errors
def save_ui(last):
    """Adds through the engine, which refuses (never replaces) variations the set already holds."""
    if not last:
        raise DfkdError("Make variations first.")
    store = SampleStore(last["root"])
    save_variations(store, last["batch"], last["chunk"], last["cfg"], last["teacher"], last["backbone"])
    return f"Added {len(last['chunk'])} variations to `{store.root}` ({len(store.manifest())} samples in the set)."


def build(teacher_spec: gr.State) -> list[SetPicker]:
    """The tab's components; returns its sample-set picker (app.py lists the sets on load)."""
    shown, last = gr.State([]), gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            picker = SetPicker(elem_id="variations-sets")
            sample_set = picker.dropdown
            sources = gr.Gallery(label="Sources (click to pick)", columns=4, height=260, object_fit="contain",
                                 allow_preview=False)
            picked = gr.Dropdown([], multiselect=True, allow_custom_value=True, label="Picked samples")
            backbone_kind = gr.Radio([DEMO_PRIOR, LOCAL, HUB], value=DEMO_PRIOR, label="Diffusion backbone")
            backbone_path = gr.Textbox(label="Folder or hub id (pixel, Stable Diffusion or image-variation pipeline)",
                                       visible=False)
            strength = checked(gr.Slider(0.02, 1, value=0.5, step=0.01,
                                         label="Strength s (0: the source, 1: from noise)"))
            variations = checked(gr.Slider(1, 6, value=2, step=1, label="Variations per sample"))
            steps = checked(gr.Slider(5, 100, value=25, step=1, label="Denoising steps (of a whole trajectory)"))
            guidance = checked(gr.Slider(0, 0.5, value=0.08, step=0.01, label="Teacher guidance while denoising"))
            seed = checked(gr.Number(value=0, precision=0, label="Seed"))
            with gr.Row():
                run = gr.Button("Make variations", variant="primary")
                cancel = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=2):
            summary = gr.Markdown(elem_id="variations-summary")
            gallery = gr.Gallery(label="Each row: the source, then its variations", columns=3, height=420,
                                 object_fit="contain", visible=False)  # shown with the first variations
            save = gr.Button("Add these variations to the set")
            saved = gr.Markdown()

    sample_set.change(sources_ui, sample_set, [sources, shown, picked], api_name="show_sources")
    sources.select(pick_ui, [shown, picked], picked, api_visibility="private")
    backbone_kind.change(lambda k: gr.update(visible=k != DEMO_PRIOR), backbone_kind, backbone_path,
                         api_visibility="private")
    run.click(vary_ui, [teacher_spec, sample_set, picked, backbone_kind, backbone_path, strength, variations,
                             steps, guidance, seed], [gallery, summary, last], api_name="make_variations",
                   concurrency_id="compute", concurrency_limit=1)
    # not cancels=[ev]: the job must end itself, so the tab can say where it stopped
    cancel.click(cancel_ui, None, summary, api_name="cancel_variations", concurrency_limit=None)
    save.click(save_ui, last, saved, api_name="save_variations")
    return [picker]
