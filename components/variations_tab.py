"""Variations tab (DDA): pick samples of a sample set, make SDEdit variations of them at a
chosen strength, see each row of variations beside its source with the cosine of their
teacher features and the teacher's probability (captions under the images), and add them
to the set: the Add button shows only while there are finished variations to add."""

import gradio as gr
from PIL import Image

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.errors import Cancelled
from dfkd_core.filter.scores import paired_cosines
from dfkd_core.methods.dda.config import DDAConfig
from dfkd_core.methods.dda.variations import plan, save_variations, source_rows, vary
from dfkd_core.paths import PRIOR
from dfkd_core.runtime.streaming import stream
from dfkd_core.store import SampleStore, to_uint8

from . import cancelling, figures, line, phone
from .common import field, session_teacher, shows_user_errors, user_error
from .filter_tab import _store
from .reporting import on
from .sample_grid import CSS as GRID_CSS
from .sample_grid import JS as GRID_JS
from .sample_grid import grid_html
from .samples_config import DEMO_PRIOR, HUB, LOCAL
from .set_picker import SetPicker
from .settings_controls import number, slider

SOURCES_MAX = 48
NO_SET = "<p>Pick a sample set to see its sources.</p>"
# a scroll box exactly SOURCE_ROWS rows high that snaps to whole rows: no row is ever cut off by
# its edge, and the always-drawn scroll bar and the count under it say there is more
SOURCE_ROWS, ROW_PX, GAP_PX = 3, 112, 8
SOURCES_CSS = f"""
.grid {{ grid-template-columns: repeat(auto-fill, minmax(84px, 1fr)); grid-auto-rows: {ROW_PX}px; gap: {GAP_PX}px;
  max-height: {SOURCE_ROWS * ROW_PX + (SOURCE_ROWS - 1) * GAP_PX}px; overflow-y: auto; scroll-snap-type: y mandatory;
  scrollbar-gutter: stable; padding-right: 4px; }}
.grid figure {{ scroll-snap-align: start; overflow: hidden; }}
.grid img {{ width: 72px; }}
.grid figcaption {{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.more {{ font-size: 12px; opacity: 0.75; margin: 4px 0 0; }}
"""
JOB = "variations"  # its Cancel button's job name (components/cancelling.py)
HIDDEN = gr.update(visible=False)


def sources_ui(label):
    """The set's first sources as a grid (click one to pick it, again to unpick it; captions
    under the images) and every source id as choices."""
    if not label:  # no set yet (a fresh install): nothing to show, no message
        return NO_SET, gr.update(choices=[], value=[])
    store = _store(label)
    rows = source_rows(store)
    shown = rows.head(SOURCES_MAX)
    images = store.images(list(shown["id"])) if len(shown) else None
    items = [(i, Image.fromarray(a), [i, c]) for a, i, c in zip(to_uint8(images), shown["id"], shown["class_name"])] \
        if images is not None else []
    scroll = "; scroll the box to see them all" if len(items) > 3 * SOURCE_ROWS else ""  # >= 3 columns
    shown_of = f"{len(rows)} sources" if len(items) == len(rows) else \
        f"The first {len(items)} of {len(rows)} sources (pick the others by id below)"
    more = f'<p class="more">{shown_of}{scroll}.</p>' if items else ""
    return (grid_html(items, "This set has no source samples.", multi=True) + more,
            gr.update(choices=list(rows["id"]), value=[]))


def pick_ui(picked, evt: gr.EventData):
    sample_id = str(getattr(evt, "sample_id", ""))
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
        with line.PREVIEW.place(request, "variations") as ticket:
            for place in ticket.wait(stop):
                yield gr.skip(), place, None, HIDDEN
            for kind, *payload in stream(_job, store, chunk, backbone, teacher, cfg, stop=stop):
                if kind == "step":  # a running job replaces the batch to add
                    step = payload[0]
                    yield gr.skip(), f"Denoising: step {step} of {payload[1]}", None, HIDDEN
                else:
                    batch = payload[0]
    except Cancelled as e:  # the gallery and "last" are cleared: Add never saves a cancelled batch
        where = "while waiting in line" if isinstance(e, line.LeftTheLine) else f"at step {step}"
        yield gr.update(value="", visible=False), f"**Cancelled {where}**: no variations were made.", None, HIDDEN
        return
    except DfkdError as e:
        raise user_error(e) from None
    finally:
        cancelling.finish(request, JOB, stop)
    sources = store.images(list(picked))
    row_of = {sid: i for i, sid in enumerate(picked)}
    cosines = paired_cosines(teacher, batch.images, sources[[row_of[sid] for sid, _ in chunk]])
    rows = []
    for sid, src in zip(picked, to_uint8(sources)):
        cards = [figures.card([src], ["source"], "")]
        cards += [figures.card([to_uint8(batch.images[j:j + 1])[0]],
                               [f"v{chunk[j][1]} · cos {cosines[j]:.2f} · p {batch.target_prob[j]:.2f}"], "")
                  for j, (s, _) in enumerate(chunk) if s == sid]
        rows.append(figures.row(sid, cards))
    summary = (f"{_variations(len(chunk))} at s = {cfg.strength:.2f}: mean cosine with their source "
               f"**{cosines.mean():.3f}**, mean p(target) **{batch.target_prob.mean():.2f}**.")
    last = {"root": str(store.root), "label": label, "batch": batch, "chunk": chunk, "cfg": cfg, "backbone": source,
            "teacher": teacher}
    yield gr.update(value="".join(rows), visible=True), summary, last, gr.update(visible=True)


def _variations(n: int) -> str:
    return f"{n} variation{'' if n == 1 else 's'}"


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
    return (f"Added {_variations(len(last['chunk']))} to sample set `{last['label']}` ({len(store.manifest())} "
            "samples in the set).",
            None, HIDDEN)  # added: nothing left to add


def build(teacher_spec: gr.State) -> list[SetPicker]:
    """The tab's components; returns its sample-set picker (app.py lists the sets on load)."""
    last = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            picker = SetPicker(elem_id="variations-sets")
            sample_set = picker.dropdown
            gr.Markdown("**Sources** (click to pick, again to unpick)")
            sources = gr.HTML(NO_SET, js_on_load=GRID_JS, css_template=GRID_CSS + SOURCES_CSS,
                              elem_id="variations-sources")
            picked = gr.Dropdown([], multiselect=True, allow_custom_value=True, label="Picked samples",
                                 elem_id="variations-picked", info="The sources to vary: click them above, or type ids")
            backbone_kind = gr.Radio([DEMO_PRIOR, LOCAL, HUB], value=DEMO_PRIOR, label="Diffusion backbone",
                                     info="The model that re-noises and denoises each source")
            backbone_path = gr.Textbox(label="Folder or hub id (pixel, Stable Diffusion or image-variation pipeline)",
                                       visible=False, info="Loaded from the local cache unless downloads are allowed")
            strength = slider(DDAConfig, "strength", "Strength s (0: the source, 1: from noise)", 0.01,
                              shown=(0.02, 1))
            variations = slider(DDAConfig, "variations", "Variations per sample", 1, shown=(1, 6))
            steps = slider(DDAConfig, "steps", "Denoising steps (of a whole trajectory)", 1, shown=(5, 100),
                           extra="A variation runs only the last s of them")
            guidance = slider(DDAConfig, "guidance", "Teacher guidance while denoising", 0.01, shown=(0, 0.5))
            seed = number(DDAConfig, "seed", "Seed", precision=0, elem_id="variations-seed")
            with gr.Row():
                run = gr.Button("Make variations", variant="primary", elem_id="variations-run")
                cancel = gr.Button("Cancel", variant="stop", elem_id="variations-cancel")
        with gr.Column(scale=2):
            summary = gr.Markdown(elem_id="variations-summary")
            gallery = gr.HTML(label="Each row: the source, then its variations", css_template=figures.CSS,
                              visible=False, elem_id="variations-results")  # shown with the first variations
            save = gr.Button("Add these variations to the set", visible=False, elem_id="variations-add")
            saved = gr.Markdown(elem_id="variations-saved")

    on(sample_set.change, sources_ui, sample_set, [sources, picked], summary, api_name="show_sources")
    sources.click(pick_ui, picked, picked, api_visibility="private", concurrency_limit=None)
    backbone_kind.change(lambda k: gr.update(visible=k != DEMO_PRIOR), backbone_kind, backbone_path,
                         api_visibility="private")
    clicked = cancelling.armed(run.click, JOB)
    on(clicked, vary_ui, [teacher_spec, sample_set, picked, backbone_kind, backbone_path, strength, variations,
                           steps, guidance, seed], [gallery, summary, last, save], summary, api_name="make_variations",
       concurrency_id=line.PREVIEW_POOL, concurrency_limit=line.POOL_SIZE)
    phone.scroll_to_result(run, "variations-summary")
    # not cancels=[ev]: the job must end itself, so the tab can say where it stopped
    cancel.click(cancel_ui, None, summary, api_name="cancel_variations", concurrency_limit=None, queue=False)
    on(save.click, save_ui, last, [saved, last, save], saved, api_name="save_variations")
    return [picker]
