"""Compare finished distillation runs side by side (in the Distill tab): their curves
overlaid, final accuracy and accuracy per class, and the settings that differ between them.
The engine gathers it all (dfkd_core.pipeline.compare); this panel picks the runs and shows it."""

import gradio as gr

from dfkd_core.pipeline.compare import MAX_COMPARED, compare_runs

from . import distill_figures as views
from . import line, phone
from .common import shows_user_errors
from .reporting import on


@shows_user_errors
def compare_ui(picked, request: gr.Request = None):
    """Curves, accuracy per class (measured once per run) and the differing settings."""
    with line.turn(line.PREVIEW, request, "a comparison"):
        result = compare_runs(picked)
    curves = {r["run"].split("/")[-1]: r["curve"] for r in result["runs"]}
    return gr.update(value=views.curves(curves), visible=True), views.comparison_html(result)


def build():
    """The panel; returns its run picker (refreshed by the tab when runs finish)."""
    with gr.Accordion("Compare runs side by side", open=False, elem_id="distill-compare"):
        picked = gr.Dropdown([], multiselect=True, label="Runs", elem_id="distill-compare-runs",
                             info=f"Pick 2-{MAX_COMPARED} finished runs; the settings in which they differ are listed")
        go = gr.Button("Compare", elem_id="distill-compare-go")
        chart = gr.Plot(label="Curves of the compared runs", visible=False, elem_id="distill-compare-chart")
        table = gr.HTML(css_template=views.figures.CSS, elem_id="distill-compare-table")
    on(go.click, compare_ui, picked, [chart, table], table, api_name="compare_runs",
       concurrency_id=line.PREVIEW_POOL, concurrency_limit=line.POOL_SIZE)
    phone.scroll_to_result(go, "distill-compare-chart")
    return picked
