"""The Filter tab's views of its state (a dict: the scores, the 2-D points, the set): the
scatter, the summary line, the per-class bars, the gallery of samples and a sample's
scores as a person reads them. Pure presentation: no handler, no wiring."""

import pandas as pd
import plotly.graph_objects as go
from PIL import Image

from dfkd_core.filter import scores as filtering
from dfkd_core.filter.kept import idle_thresholds
from dfkd_core.store import SampleStore

from . import figures
from .sample_grid import grid_html
from .scatter_svg import DROPPED, KEPT, scatter_html

SHOW = ["dropped", "kept", "all", "selected"]
GALLERY_MAX = 48  # images in the gallery below the scatter


def bars(scores: pd.DataFrame) -> go.Figure:
    """Kept and dropped per class as horizontal bars: class names never overlap, even on a phone."""
    counts = filtering.class_counts(scores).iloc[::-1]  # first class on top
    fig = go.Figure([go.Bar(y=counts["class_name"], x=counts["kept"], name="kept", marker_color=KEPT,
                            orientation="h"),
                     go.Bar(y=counts["class_name"], x=counts["dropped"], name="dropped", marker_color=DROPPED,
                            orientation="h")])
    # the legend at the top right, beside Gradio's label: under the chart it lay on the axis title on a phone
    fig.update_layout(barmode="stack", height=110 + 24 * len(counts), xaxis_title="samples",
                      margin={"l": 10, "r": 28, "t": 36, "b": 40},  # the top margin clears Gradio's label
                      legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"})
    fig.update_yaxes(automargin=True)
    return fig


def inspected(store: SampleStore, sample_id: str, source_id: str | None) -> str:
    """The sample beside its source, large, with captions under them."""
    files = store.manifest().set_index("id")["file"]
    ids = [(sample_id, "selected sample")] + ([(source_id, "its source")] if source_id and source_id != sample_id else [])
    images = [Image.open(store.root / files[i]).convert("RGB") for i, _ in ids]
    return figures.grid([figures.card(images, [f"{tag}: {i}" for i, tag in ids], "")])


INSPECT_CSS = figures.CSS + ".dfkd-card img {width: min(192px, 36vw)}"


def gallery(state, show: str):
    """(grid markup, ids shown): the samples `show` names, least similar to their source first."""
    scores = state["scores"]
    if show == "selected":
        rows = scores[scores["id"].isin(state.get("picked", []))]
    else:
        rows = scores if show == "all" else scores[scores["kept"] == (show == "kept")]
    rows = rows.sort_values("cosine", na_position="first").head(GALLERY_MAX)
    store = SampleStore(state["root"])
    files = store.manifest().set_index("id")["file"]
    items = [(r.id, Image.open(store.root / files[r.id]),
              [r.id, f"cos {r.cosine:.3f} · p {100 * r.teacher_prob:.0f} %"]) for r in rows.itertuples()]
    empty = "Drag a box over the scatter to select samples." if show == "selected" else f"No {show} samples."
    return grid_html(items, empty), list(rows["id"])


def summary(state) -> str:
    s = state["scores"]
    kept, variations = int(s["kept"].sum()), s["variation"] > 0
    by_hand = len(state.get("by_hand", {}))
    hand = f" {by_hand} kept or dropped by hand." if by_hand else ""
    idle = "".join(f"\n\n⚠ {note}" for note in idle_thresholds(s))  # a slider that changes nothing says so
    return (f"**{kept} of {len(s)} kept** (ω = {s.attrs['omega']:.2f}, τ = {s.attrs['tau']:.2f}, "
            f"{s.attrs['embedding']} embedding); variations kept: {int((s['kept'] & variations).sum())} of "
            f"{int(variations.sum())}.{hand} {state['note']}{idle}")


def plot(state, colour_by) -> str:
    return scatter_html(state["scores"], state["xy"], colour_by, state["method"], state["label"],
                        state.get("selected"), state.get("picked", ()))


def lists(state, show):
    """The slower views: the per-class bars and the gallery of samples."""
    items, shown = gallery(state, show)
    return {**state, "shown": shown}, bars(state["scores"]), items


def _percent(p) -> str:
    return "n/a" if pd.isna(p) else f"{100 * p:.1f} %"


def details(row, sample_id: str, class_names: list) -> pd.DataFrame:
    """The sample's scores as a person reads them: names, 3 decimals, percentages."""
    pred = int(row["teacher_pred"])
    rows = [("sample", sample_id), ("class (target)", row["class_name"]),
            ("source", row["source_id"] if row["source_id"] != sample_id else "itself (a source)"),
            ("variation", "source" if row["variation"] == 0 else f"v{int(row['variation'])}"),
            ("cos(sample, source)", "n/a" if pd.isna(row["cosine"]) else f"{row['cosine']:.3f}"),
            ("teacher p(target)", _percent(row["teacher_prob"])),
            ("teacher predicts", class_names[pred] if pred < len(class_names) else str(pred)),
            ("entropy (nats)", f"{row['entropy']:.3f}"), ("kept", "yes" if row["kept"] else "no")]
    return pd.DataFrame(rows, columns=["score", "value"])
