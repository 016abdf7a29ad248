"""The HiDFD tab's views: the loss chart, the collected images per class, and the generator's
samples as one labelled grid, a row per class, with a warning above it when the GAN
collapsed a class (the engine's detector: dfkd_core.methods.hidfd.quality). Pure presentation."""

import html

import plotly.graph_objects as go
import torch

from dfkd_core.methods.hidfd.quality import collapse_warning
from dfkd_core.store import to_uint8

from .common import enlarged
from .sample_grid import data_url

CURVES = [("loss_d", "D loss"), ("loss_g", "G loss"), ("teacher_ce", "teacher CE on G(z, y)")]
SCALE = 3


def loss_figure(rows: list) -> go.Figure:
    fig = go.Figure()
    steps = [r["step"] for r in rows]
    for key, name in CURVES:
        fig.add_trace(go.Scatter(x=steps, y=[r[key] for r in rows], mode="lines", name=name))
    fig.add_trace(go.Scatter(x=steps, y=[r["teacher_acc"] for r in rows], mode="lines", name="teacher target rate",
                             yaxis="y2", line={"dash": "dot"}))
    fig.update_layout(height=300, margin={"l": 40, "r": 55, "t": 36, "b": 40}, xaxis_title="step",
                      yaxis={"title": "loss"}, legend={"orientation": "h", "y": -0.3},
                      yaxis2={"title": "target rate", "overlaying": "y", "side": "right", "tickformat": ".0%",
                              # a margin under 0 %, so its tick label clears the step axis's on a phone
                              "range": [-0.06, 1.04]})
    if steps and steps[-1] - steps[0] <= 8:  # a short run: whole steps, not 1.2, 1.4, ...
        fig.update_xaxes(dtick=1)
    return fig


def frequencies(freq):
    """The collected images per class as a person reads them (counts stay numbers; short
    headers, explained in the table's label, so that it fits a phone)."""
    table = freq.rename(columns={"teacher_count": "images", "mean_confidence": "mean p", "true_count": "true"})
    table = table.drop(columns=["share"])  # the counts say it; four columns fit a phone
    table["mean p"] = ["" if c is None or c != c else f"{100 * c:.1f} %" for c in freq["mean_confidence"]]
    return table


def class_grid(images, names, step=None) -> str:
    """One labelled grid, a row per class (its name as the row label) and a column per sample,
    with no table borders: every class visible, crisp pixels, the images shrinking to the
    page's width (on a phone the name goes above its row)."""
    per = len(images) // len(names)
    rows = []
    for c, name in enumerate(names):
        cells = "".join(f'<img role="cell" src="{data_url(enlarged(a, SCALE))}" alt="{html.escape(name)} sample {i + 1}">'
                        for i, a in enumerate(to_uint8(images[c * per:(c + 1) * per])))
        rows.append(f'<div class="row" role="row"><div class="label" role="rowheader">{html.escape(name)}</div>'
                    f'{cells}</div>')
    caption = (f"EMA generator after step {step} (EMA: an average of its recent weights, steadier than the "
               f"last step's): {per} samples per class") if step else f"{per} samples per class"
    labels = torch.arange(len(names)).repeat_interleave(per)
    warning = collapse_warning(images[:len(labels)], labels, names)
    alert = f'<p class="collapse-warning" role="alert">⚠ {html.escape(warning)}</p>' if warning else ""
    return (f'{alert}<div class="class-grid" role="table" aria-label="{html.escape(caption)}" style="--per: {per}">'
            f'<div class="caption">{html.escape(caption)}</div>{"".join(rows)}</div>')


GRID_CSS = """
.collapse-warning { border-left: 4px solid #d97706; padding: 6px 10px; background: rgba(217,119,6,0.08); }
.class-grid { display: flex; flex-direction: column; gap: 4px; }
.class-grid .caption { font-weight: 600; padding: 4px 0; }
.class-grid .row { display: grid; grid-template-columns: 104px repeat(var(--per), minmax(0, 96px)); gap: 4px;
                   align-items: center; }
.class-grid .label { text-align: right; padding-right: 6px; font-size: 0.9em; overflow-wrap: anywhere; }
.class-grid img { width: 100%; aspect-ratio: 1; image-rendering: pixelated; display: block; border-radius: 2px; }
@media (max-width: 640px) {
  .class-grid .row { grid-template-columns: repeat(var(--per), minmax(0, 1fr)); gap: 2px; }
  .class-grid .label { grid-column: 1 / -1; text-align: left; padding: 4px 0 0; }
}
"""
