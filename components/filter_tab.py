"""Filter tab: a sample set's scores and its embedding (UMAP, or PCA), coloured by class,
kept/dropped or confidence; ω and τ sliders that only recolour; a sample beside its
source with its scores; a box selection kept or dropped by hand (filter_selection.py);
per-class kept counts; export of the kept set as a new sample set."""

import gradio as gr
from PIL import Image

from dfkd_core import DfkdError
from dfkd_core.filter import scores as filtering
from dfkd_core.filter.config import FilterSettings
from dfkd_core.filter.kept import export_kept_set
from dfkd_core.filter.projection import project, warm_up
from dfkd_core.pipeline.runs import sample_sets
from dfkd_core.store import SampleStore

from . import filter_selection as selection
from . import filter_views as views
from . import line, phone
from .common import field, session_teacher
from .reporting import on
from .sample_grid import CSS as GRID_CSS
from .sample_grid import JS as GRID_JS
from .sample_grid import data_url
from .scatter_svg import CSS, JS
from .set_picker import SetPicker
from .settings_controls import info, slider

COLOUR_BY = ["class", "kept / dropped", "confidence"]
PROJECTIONS = {"auto (UMAP; PCA for few points)": "auto", "UMAP": "umap", "PCA": "pca"}


def _store(label) -> SampleStore:
    sets = sample_sets()
    if label not in sets:
        raise DfkdError(f"Pick a sample set (found: {', '.join(sets) or 'none yet: add samples in the Samples tab'}).")
    return SampleStore(sets[label])


def compute_ui(teacher_spec, label, embedding, clip_folder, projection, omega, tau, colour_by, show,
               request: gr.Request = None, progress=gr.Progress()):  # noqa: B008 - how Gradio injects progress
    store, teacher = _store(label), session_teacher(teacher_spec)
    progress(0, desc="waiting for a free slot")
    with line.turn(line.PREVIEW, request, "scores"):
        return _compute(store, teacher, label, embedding, clip_folder, projection, omega, tau, colour_by, show,
                        progress)


def _compute(store, teacher, label, embedding, clip_folder, projection, omega, tau, colour_by, show, progress):
    progress(0, desc="teacher outputs and embeddings (cached per sample)")
    kind = "clip" if embedding.startswith("CLIP") else "teacher"
    omega, tau = field(omega, "ω"), field(tau, "τ")
    features = filtering.compute_features(store, teacher, embedding=kind, clip_model=(clip_folder or "").strip() or None,
                                          progress=lambda done, total: progress((done, total), unit="images"))
    scores = filtering.scores_frame(store.manifest(), features, omega, tau)
    progress(1, desc="2-D projection")
    proj = project(features.embeddings, PROJECTIONS[projection], cache_dir=store.root / "embeddings" / "2d")
    note = (proj.note + ".") if proj.note else ("(projection from cache)" if proj.cached else "")
    state = {"root": str(store.root), "label": label, "scores": scores, "xy": proj.xy, "method": proj.method,
             "note": note, "class_names": list(teacher.class_names)}
    state, bars, items = views.lists(state, "dropped" if show == "selected" else show)
    shown = gr.update(visible=True)
    return (state, views.plot(state, colour_by), views.summary(state), gr.update(value=bars, visible=True), items,
            shown, shown, shown)


def fresh_view(show):
    """A new set's scores: the last set's selection and inspected sample go (they named its samples)."""
    off = gr.update(interactive=False)
    return (selection.NOTHING, off, off, "", None, "", "", "dropped" if show == "selected" else gr.skip())


def rethreshold_ui(state, omega, tau, colour_by):
    """Recolour for new ω, τ: only the kept flags change (the bars and gallery follow); the
    samples kept or dropped by hand stay so."""
    if not state:
        raise DfkdError("Compute the scores of a sample set first.")
    scores = filtering.apply_thresholds(state["scores"], field(omega, "ω"), field(tau, "τ"))
    state = {**state, "scores": selection.with_hand_flags(scores, state.get("by_hand", {}))}
    return state, views.plot(state, colour_by), views.summary(state)


def inspect_ui(state, sample_id):
    if not state:
        raise DfkdError("Compute the scores of a sample set first.")
    scores = state["scores"].set_index("id")
    sample_id = (sample_id or "").strip()
    if sample_id not in scores.index:
        raise DfkdError(f"No sample '{sample_id}' in this set.")
    row = scores.loc[sample_id]
    source = row["source_id"] if row["source_id"] in scores.index else None
    return (views.inspected(SampleStore(state["root"]), sample_id, source),
            views.details(row, sample_id, state.get("class_names", [])))


def point_ui(state, evt: gr.EventData):
    """A click on a scatter point: that sample, its source and scores; it stays highlighted."""
    sample_id = str(getattr(evt, "sample_id", ""))
    images, table = inspect_ui(state, sample_id)
    return {**state, "selected": sample_id}, sample_id, images, table, ""


def thumbnail(key: str) -> str | None:
    """The hovered point's image as a data URL ("set label\nsample id"); None for anything
    not a sample of a listed set (the key comes from the page)."""
    label, _, sample_id = str(key).partition("\n")
    sets = sample_sets()
    if label not in sets:
        return None
    files = SampleStore(sets[label]).manifest().set_index("id")["file"]
    if sample_id not in files.index:
        return None
    return data_url(Image.open(SampleStore(sets[label]).root / files[sample_id]))


def export_ui(state, name):
    if not state:
        raise DfkdError("Compute the scores of a sample set first.")
    new = export_kept_set(SampleStore(state["root"]), state["scores"], name)
    return f"Exported {len(new.manifest())} kept samples to sample set `{name}`."  # (no server path)


def build(teacher_spec: gr.State) -> list[SetPicker]:
    """The tab's components; returns its sample-set picker (app.py lists the sets on load)."""
    warm_up()  # UMAP's numba compilation runs in the background while the app starts
    state = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            picker = SetPicker(elem_id="filter-sets")
            embedding = gr.Radio(["Teacher features", "CLIP (local folder)"], value="Teacher features",
                                 label="Embedding for the cosine", info=info(FilterSettings, "embedding"))
            clip_folder = gr.Textbox(label="CLIPVisionModelWithProjection folder", visible=False,
                                     info=info(FilterSettings, "clip_model"))
            projection = gr.Radio(list(PROJECTIONS), value=next(iter(PROJECTIONS)), label="2-D projection",
                                  info="How the embedding is flattened to 2-D for the scatter (UMAP keeps "
                                       "neighbours; PCA keeps the widest directions)")
            compute = gr.Button("Compute scores", variant="primary", elem_id="filter-compute")
            omega = slider(FilterSettings, "omega", "ω: keep when cos(sample, source) ≥ ω", 0.01,
                           elem_id="filter-omega")
            tau = slider(FilterSettings, "tau", "τ: keep when p(target) ≥ τ", 0.01, elem_id="filter-tau")
            colour_by = gr.Radio(COLOUR_BY, value=COLOUR_BY[1], label="Colour by",
                                 info="What the scatter's colours show")
            summary = gr.Markdown(elem_id="filter-summary")
            bars = gr.Plot(label="Kept per class", visible=False)  # shown with the first scores
        with gr.Column(scale=2, min_width=320):
            plot = gr.HTML("<p>Compute the scores of a sample set to see its embedding here.</p>",
                           js_on_load=JS, css_template=CSS, server_functions=[thumbnail], elem_id="filter-scatter",
                           label="Embedding", show_label=False)
            picks = selection.build()
            with gr.Row(equal_height=True, visible=False) as inspect_row:
                with gr.Column(scale=1, min_width=300):
                    sample = gr.HTML(css_template=views.INSPECT_CSS, elem_id="filter-sample")
                with gr.Column(scale=1, min_width=240):
                    sample_id = gr.Textbox(label="Sample id (or click a point / an image)",
                                           info="Press Enter to show it")
                    inspect_note = gr.Markdown(elem_id="filter-inspect-note")
                    details = gr.Dataframe(headers=["score", "value"], label="Scores", interactive=False,
                                           wrap=True, elem_id="filter-details")
            with gr.Column(visible=False) as gallery_column:
                show = gr.Radio(views.SHOW, value=views.SHOW[0], label="Samples (least similar to their source first)",
                                info="Which samples the gallery shows")
                gallery = gr.HTML(js_on_load=GRID_JS, css_template=GRID_CSS, elem_id="filter-gallery")
            with gr.Row():
                export_name = gr.Textbox(value="kept-samples", label="Export the kept set as sample set",
                                         info="with the samples kept or dropped by hand")
                export = gr.Button("Export")
            exported = gr.Markdown()

    sample_set = picker.dropdown
    embedding.change(lambda e: gr.update(visible=e.startswith("CLIP")), embedding, clip_folder,
                     api_visibility="private")
    on(compute.click, compute_ui, [teacher_spec, sample_set, embedding, clip_folder, projection, omega, tau, colour_by,
                                   show], [state, plot, summary, bars, gallery, inspect_row, gallery_column,
                                           picks["row"]], summary,
       api_name="compute_scores", concurrency_id=line.PREVIEW_POOL, concurrency_limit=line.POOL_SIZE
       ).success(fresh_view, show, [picks["text"], picks["keep"], picks["drop"], sample, details, sample_id,
                                    inspect_note, show], api_visibility="private", queue=False)
    phone.scroll_to_result(compute, "filter-summary")
    for control in (omega, tau):  # the scatter first (fast), then the bars and gallery
        on(control.change, rethreshold_ui, [state, omega, tau, colour_by], [state, plot, summary], summary,
           api_name="rethreshold" if control is omega else None, trigger_mode="always_last",
           api_visibility="public" if control is omega else "private", queue=False, show_progress="hidden",
           ).success(views.lists, [state, show], [state, bars, gallery], api_visibility="private",
                     concurrency_limit=None)
    colour_by.change(lambda st, c: views.plot(st, c) if st else gr.skip(), [state, colour_by], plot,
                     api_visibility="private", concurrency_limit=None)
    show.change(lambda st, sh: views.lists(st, sh) if st else (gr.skip(),) * 3, [state, show],
                [state, bars, gallery], api_visibility="private", concurrency_limit=None)
    for clicked in (plot, gallery):
        on(clicked.click, point_ui, state, [state, sample_id, sample, details, inspect_note], inspect_note,
           api_visibility="private", concurrency_limit=None)
    on(sample_id.submit, inspect_ui, [state, sample_id], [sample, details], inspect_note,
       api_name="inspect_sample").success(lambda: "", None, inspect_note, api_visibility="private", queue=False)
    selection.wire(picks, plot, state, colour_by, summary, show, gallery, bars)
    picker.refresh_on(on(export.click, export_ui, [state, export_name], exported, exported,
                         api_name="export_kept").success)
    return [picker]
