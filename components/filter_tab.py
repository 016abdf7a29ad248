"""Filter tab: a sample set's scores and its embedding (UMAP, or PCA), coloured by class,
kept/dropped or confidence; ω and τ sliders that only recolour; a sample beside its
source with its scores; per-class kept counts; export of the kept set as a new sample set."""

import gradio as gr
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from PIL import Image

from dfkd_core import DfkdError, filtering
from dfkd_core.data.store import SampleStore
from dfkd_core.embedding import project, warm_up
from dfkd_core.runs import sample_sets
from dfkd_core.sampling import sample_set_path

from .common import enlarged, field, session_teacher, user_error
from .fields import checked

COLOUR_BY = ["class", "kept / dropped", "confidence"]
PROJECTIONS = {"auto (UMAP; PCA for few points)": "auto", "UMAP": "umap", "PCA": "pca"}
SHOW = ["dropped", "kept", "all"]
GALLERY_MAX = 48


def _store(label) -> SampleStore:
    sets = sample_sets()
    if label not in sets:
        raise DfkdError(f"Pick a sample set (found: {', '.join(sets) or 'none yet: add samples in the Samples tab'}).")
    return SampleStore(sets[label])


def _figure(scores: pd.DataFrame, xy: np.ndarray, colour_by: str, method: str) -> go.Figure:
    hover = [f"{i}<br>{c}<br>cos {cos:.3f} · p {p:.2f}<br>{'kept' if k else 'dropped'}" for i, c, cos, p, k in
             zip(scores["id"], scores["class_name"], scores["cosine"], scores["teacher_prob"], scores["kept"])]
    hover = np.array(hover)
    # plotly symbol codes 0 = circle, 2 = diamond: a list of ints validates ~10x faster than names
    symbol = np.where(scores["variation"] > 0, 0, 2)
    fig = go.Figure()

    def add(mask, name, **marker):
        fig.add_trace(go.Scattergl(x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=name, text=hover[mask],
                                   hoverinfo="text", marker={"size": 6, "symbol": symbol[mask].tolist(), **marker}))

    if colour_by == "confidence":
        add(np.ones(len(scores), bool), "p(target)", color=scores["teacher_prob"], colorscale="Viridis", cmin=0,
            cmax=1, colorbar={"title": "p(target)"})
    elif colour_by == "kept / dropped":
        kept = scores["kept"].to_numpy()
        add(kept, f"kept ({kept.sum()})", color="#2a9d8f")
        add(~kept, f"dropped ({(~kept).sum()})", color="#e63946")
    else:
        for name in dict.fromkeys(scores.sort_values("target")["class_name"]):
            add((scores["class_name"] == name).to_numpy(), name)
    fig.update_layout(title=f"{method.upper()} of {len(scores)} samples (◆ source, ● variation)", height=480,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"itemsizing": "constant"})
    return fig


def _bars(scores: pd.DataFrame) -> go.Figure:
    counts = filtering.class_counts(scores)
    fig = go.Figure([go.Bar(x=counts["class_name"], y=counts["kept"], name="kept", marker_color="#2a9d8f"),
                     go.Bar(x=counts["class_name"], y=counts["dropped"], name="dropped", marker_color="#e63946")])
    fig.update_layout(barmode="stack", title="Per class", height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def _image(store: SampleStore, sample_id: str) -> Image.Image:
    return enlarged(Image.open(store.root / store.manifest().set_index("id").loc[sample_id, "file"]))


def _gallery(state, show: str):
    scores = state["scores"]
    rows = scores if show == "all" else scores[scores["kept"] == (show == "kept")]
    rows = rows.sort_values("cosine", na_position="first").head(GALLERY_MAX)
    store = SampleStore(state["root"])
    files = store.manifest().set_index("id")["file"]
    items = [(Image.open(store.root / files[r.id]), f"{r.id} · cos {r.cosine:.2f} · p {r.teacher_prob:.2f}")
             for r in rows.itertuples()]
    return items, list(rows["id"])


def _summary(state) -> str:
    s = state["scores"]
    kept, variations = int(s["kept"].sum()), s["variation"] > 0
    return (f"**{kept} of {len(s)} kept** (ω = {s.attrs['omega']:.2f}, τ = {s.attrs['tau']:.2f}, "
            f"{s.attrs['embedding']} embedding); variations kept: {int((s['kept'] & variations).sum())} of "
            f"{int(variations.sum())}. {state['note']}")


def _views(state, colour_by, show):
    items, shown = _gallery(state, show)
    state = {**state, "shown": shown}
    return (state, _figure(state["scores"], state["xy"], colour_by, state["method"]), _bars(state["scores"]),
            _summary(state), items)


def compute_ui(teacher_spec, label, embedding, clip_folder, projection, omega, tau, colour_by, show,
               progress=gr.Progress()):  # noqa: B008 - how Gradio injects progress
    try:
        store = _store(label)
        teacher = session_teacher(teacher_spec)
        progress(0, desc="teacher outputs and embeddings (cached per sample)")
        kind = "clip" if embedding.startswith("CLIP") else "teacher"
        omega, tau = field(omega, "ω"), field(tau, "τ")
        features = filtering.compute_features(store, teacher, embedding=kind,
                                              clip_model=(clip_folder or "").strip() or None,
                                              progress=lambda done, total: progress((done, total), unit="images"))
        scores = filtering.scores_frame(store.manifest(), features, omega, tau)
        progress(1, desc="2-D projection")
        proj = project(features.embeddings, PROJECTIONS[projection], cache_dir=store.root / "embeddings" / "2d")
    except DfkdError as e:
        raise user_error(e) from None
    note = (proj.note + ".") if proj.note else ("(projection from cache)" if proj.cached else "")
    state = {"root": str(store.root), "scores": scores, "xy": proj.xy, "method": proj.method, "note": note}
    return _views(state, colour_by, show)


def rethreshold_ui(state, omega, tau, colour_by, show):
    """Recolour for new ω, τ: only the kept flags change."""
    if not state:
        raise user_error("Compute the scores of a sample set first.")
    try:
        omega, tau = field(omega, "ω"), field(tau, "τ")
        state = {**state, "scores": filtering.apply_thresholds(state["scores"], omega, tau)}
    except DfkdError as e:
        raise user_error(e) from None
    return _views(state, colour_by, show)


def inspect_ui(state, sample_id):
    if not state:
        raise user_error("Compute the scores of a sample set first.")
    scores = state["scores"].set_index("id")
    sample_id = (sample_id or "").strip()
    if sample_id not in scores.index:
        raise user_error(f"No sample '{sample_id}' in this set.")
    row = scores.loc[sample_id]
    store = SampleStore(state["root"])
    source = _image(store, row["source_id"]) if row["source_id"] in scores.index else None
    table = pd.DataFrame({"score": ["id", *row.index], "value": [sample_id, *[str(v) for v in row.to_numpy()]]})
    return _image(store, sample_id), source, table


def select_ui(state, evt: gr.SelectData):
    sample_id = state["shown"][evt.index]
    return (sample_id, *inspect_ui(state, sample_id))


def export_ui(state, name):
    if not state:
        raise user_error("Compute the scores of a sample set first.")
    try:
        dest = sample_set_path(name)
        if SampleStore(dest).exists():
            raise DfkdError(f"Sample set '{name}' already exists; choose a new name.")
        new = filtering.export_kept(SampleStore(state["root"]), state["scores"], dest)
    except DfkdError as e:
        raise user_error(e) from None
    return f"Exported {len(new.manifest())} kept samples to `{new.root}`.", gr.update(choices=list(sample_sets()))


def build(teacher_spec: gr.State) -> None:
    warm_up()  # UMAP's numba compilation runs in the background while the app starts
    state = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                sample_set = gr.Dropdown(list(sample_sets()), label="Sample set", allow_custom_value=True, scale=4)
                refresh = gr.Button("↻", size="sm", scale=1)
            embedding = gr.Radio(["Teacher features", "CLIP (local folder)"], value="Teacher features",
                                 label="Embedding for the cosine")
            clip_folder = gr.Textbox(label="CLIPVisionModelWithProjection folder", visible=False)
            projection = gr.Radio(list(PROJECTIONS), value=next(iter(PROJECTIONS)), label="2-D projection")
            compute = gr.Button("Compute scores", variant="primary")
            omega = checked(gr.Slider(-1, 1, value=0.9, step=0.01, label="ω: keep when cos(sample, source) ≥ ω"))
            tau = checked(gr.Slider(0, 1, value=0.0, step=0.01, label="τ: keep when p(target) ≥ τ"))
            colour_by = gr.Radio(COLOUR_BY, value=COLOUR_BY[1], label="Colour by")
            summary = gr.Markdown(elem_id="filter-summary")
            bars = gr.Plot(label="Kept per class")
        with gr.Column(scale=2):
            plot = gr.Plot(label="Embedding")
            show = gr.Radio(SHOW, value=SHOW[0], label="Samples (least similar to their source first)")
            gallery = gr.Gallery(columns=8, height=240, object_fit="contain", allow_preview=False)
            with gr.Row():
                sample_id = gr.Textbox(label="Sample id", scale=2)
                sample = gr.Image(label="Sample", height=160, scale=1)
                source = gr.Image(label="Its source", height=160, scale=1)
            details = gr.Dataframe(headers=["score", "value"], label="Scores", interactive=False)
            with gr.Row():
                export_name = gr.Textbox(value="kept-samples", label="Export the kept set as sample set")
                export = gr.Button("Export")
            exported = gr.Markdown()

    views = [state, plot, bars, summary, gallery]
    refresh.click(lambda: gr.update(choices=list(sample_sets())), None, sample_set, api_visibility="private")
    embedding.change(lambda e: gr.update(visible=e.startswith("CLIP")), embedding, clip_folder,
                     api_visibility="private")
    compute.click(compute_ui, [teacher_spec, sample_set, embedding, clip_folder, projection, omega, tau, colour_by,
                               show], views, api_name="compute_scores", concurrency_id="compute", concurrency_limit=1)
    for control in (omega, tau, colour_by, show):
        control.change(rethreshold_ui, [state, omega, tau, colour_by, show], views,
                       api_name="rethreshold" if control is omega else None, trigger_mode="always_last",
                       api_visibility="public" if control is omega else "private")
    gallery.select(select_ui, state, [sample_id, sample, source, details], api_visibility="private")
    sample_id.submit(inspect_ui, [state, sample_id], [sample, source, details], api_name="inspect_sample")
    export.click(export_ui, [state, export_name], [exported, sample_set], api_name="export_kept")
