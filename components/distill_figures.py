"""The Distill tab's charts and tables: one run's loss and test-accuracy curves with the
teacher's and the real-data student's lines, several runs' curves overlaid, their accuracy
per class and the settings in which they differ. Pure presentation."""

import html
import json

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dfkd_core.paths import STUDENT_REFERENCE, TEACHER

from . import figures


def references(teacher) -> list[tuple[str, float]]:
    """Horizontal lines on the accuracy chart: the teacher's accuracy from its card, and the
    demo's real-data reference student (trained on the real images) when the demo teacher is used."""
    lines = []
    if teacher is not None and teacher.info.get("test_accuracy") is not None:
        lines.append(("teacher", float(teacher.info["test_accuracy"])))
    if teacher is not None and teacher.info.get("source") == str(TEACHER) and STUDENT_REFERENCE.exists():
        card = json.loads(STUDENT_REFERENCE.read_text())
        lines.append((f"{card['arch']} trained on real data", float(card["test_accuracy"])))
    return lines


def curves(runs: dict, refs=()) -> go.Figure:
    """runs: {name: metrics rows}. Stacked, not side by side: each chart keeps the full width,
    also on a phone."""
    fig = make_subplots(rows=2, cols=1, subplot_titles=("training loss", "test accuracy (%)"), vertical_spacing=0.16)
    last = 1
    for name, rows in runs.items():
        epochs = [r["epoch"] for r in rows]
        fig.add_trace(go.Scatter(x=epochs, y=[r["train_loss"] for r in rows], mode="lines+markers",
                                 name=f"loss {name}" if len(runs) > 1 else "loss", legendgroup=name,
                                 showlegend=len(runs) > 1), 1, 1)
        accuracy = [100 * r["test_acc"] for r in rows if "test_acc" in r]  # (an empty trace still draws the axes)
        fig.add_trace(go.Scatter(x=epochs[:len(accuracy)], y=accuracy, mode="lines+markers",
                                 name=name if len(runs) > 1 else "student", legendgroup=name), 2, 1)
        last = max([last, *epochs])
    for (name, acc), dash, colour in zip(refs, ("dash", "dot"), ("#444", "#2a9d8f")):
        # named in the legend, so their labels never overlap however close the two figures are
        fig.add_trace(go.Scatter(x=[0, last], y=[100 * acc] * 2, mode="lines", name=f"{name} {100 * acc:.1f} %",
                                 line={"dash": dash, "color": colour}), 2, 1)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", row=2, col=1)
    fig.update_layout(height=540, showlegend=bool(refs) or len(runs) > 1, margin=dict(l=40, r=20, t=40, b=40),
                      legend={"orientation": "h", "y": -0.12, "x": 0, "yanchor": "top"})
    # whole epochs only, and one axis title (the top chart's title collided with the lower one's)
    fig.update_xaxes(rangemode="tozero", tick0=0, dtick=max(1, -(-last // 8)))
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    return fig


def chart(rows: list[dict], refs=()):
    """One run's curves, shown from the first finished epoch on (an empty chart is an empty box)."""
    return gr.update(value=curves({"student": rows}, refs), visible=bool(rows))


def bar(done: float, total: float, text: str) -> str:
    """An honest progress line: the fraction of the run's training steps done so far."""
    percent = 100 * done / total if total else 0
    return (f'<progress max="100" value="{percent:.1f}" style="width:100%"></progress>'
            f"\n\n{text} ({percent:.0f} % of the run's steps)")


def card(results: dict) -> pd.DataFrame:
    return pd.DataFrame([(k.replace("_", " "), str(v)) for k, v in results.items()], columns=["field", "value"])


# the runs table fits a phone: narrow padding, no broken names or figures, the student column
# left out on a narrow screen (the run's name says which run it is)
RUNS_CSS = figures.CSS + """
.dfkd-table.runs th, .dfkd-table.runs td {padding:4px 8px 4px 0; white-space:nowrap}
@media (max-width: 640px) {.dfkd-table.runs {font-size:0.8em} .dfkd-table.runs .c1 {display:none}}
"""


def _table(head: list, rows: list, numeric_from: int = 1, kind: str = "") -> str:
    def cls(i):
        return f"c{i}" + (" num" if i >= numeric_from else "")
    cells = "".join(f'<th class="{cls(i)}">{html.escape(str(h))}</th>' for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="{cls(i)}">{c}</td>' for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f'<table class="dfkd-table {kind}">{"<tr>" + cells + "</tr>"}{body}</table>'


def _percent(v) -> str:
    return "—" if v is None or v != v else f"{100 * v:.1f}\u00a0%"  # (no line break inside a figure)


def _figure(value, form: str) -> str:
    """A number of the runs table (missing or NaN: a dash)."""
    return "—" if value is None or value != value else form.format(value)


def runs_html(table: pd.DataFrame) -> str:
    """The finished runs, newest first, as a light table narrow enough for a phone (a grid of all
    the columns was cut off at the right, also on a desktop)."""
    rows = [[html.escape(str(r.get("run", "")).removeprefix("distill/")), html.escape(str(r.get("student") or "—")),
             _percent(r.get("test acc")), _figure(r.get("ratio to teacher"), "{:.2f}"),
             _figure(r.get("images"), "{:,.0f}"), _figure(r.get("epochs"), "{:.0f}")]
            for r in table.to_dict("records")]
    return ("<h4>Runs, newest first</h4>" +
            _table(["run", "student", "test acc", "of teacher", "images", "epochs"], rows, numeric_from=2,
                   kind="runs"))


def comparison_html(result: dict) -> str:
    """Final accuracy, accuracy per class (the best run's figure in bold) and the differing settings."""
    runs = result["runs"]
    names = [html.escape(r["run"].split("/")[-1]) for r in runs]
    rows = [["final test accuracy", *(_percent(r["final_acc"]) for r in runs)],
            ["images", *(f"{r['images']:,}" if r["images"] else "—" for r in runs)],
            ["epochs", *(str(r["epochs"]) for r in runs)]]
    classes = next((list(r["per_class"]) for r in runs if r["per_class"]), [])
    for c in classes:  # the best run's figure in bold, where the runs differ
        values = [(r["per_class"] or {}).get(c) for r in runs]
        known = [v for v in values if v is not None]
        best = max(known) if len(set(known)) > 1 else None
        rows.append([html.escape(c), *(f"<b>{_percent(v)}</b>" if v is not None and v == best else _percent(v)
                                       for v in values)])
    out = "<h4>Accuracy</h4>" + _table(["", *names], rows)
    if not classes:
        out += figures.note("Per-class accuracy needs runs that were evaluated on a test set.")
    diffs = result["differences"]
    if diffs:
        out += "<h4>Settings that differ</h4>" + _table(
            ["setting", *names], [[f"<b>{html.escape(k)}</b>", *(html.escape(str(v)) for v in vals)]
                                  for k, vals in diffs.items()], numeric_from=99)
    else:
        out += figures.note("The runs' settings are the same: they differ only by chance (or by their images).")
    return out
