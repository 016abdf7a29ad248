"""The settings grid (in the Samples tab): one or two sampling settings varied as rows and
columns, every class in each cell with several seeds, every judge per cell; the other
settings are the tab's. The engine samples and judges (sweep.grid_sweep); this panel parses
the values, waits its turn in the heavy line, and shows the grid as its cells finish."""

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.errors import Cancelled
from dfkd_core.judges.batch import demo_panel
from dfkd_core.methods.diffdfkd.sweep import grid_sweep, sweepable_settings
from dfkd_core.runtime.streaming import stream

from . import cancelling, figures, line, phone
from . import sweep_views as views
from .common import field, session_teacher, shows_user_errors
from .fields import checked
from .gpu import SAMPLING_S, gpu
from .reporting import on
from .samples_config import backbone_source, guidance

JOB = "sweep"  # cancelled by the Samples tab's Cancel button
NONE = "(none: one column)"
MAX_VALUES, MAX_IMAGES = 6, 720  # per axis, and images per grid: a sweep stays a few minutes on a CPU
SUGGESTED = {"strength": "0, 0.04, 0.08, 0.16", "steps": "10, 25, 50", "eta": "0, 1", "candidates": "1, 2, 4",
             "every": "1, 2, 4", "bn": "0, 0.1", "blur": "0, 1, 2", "recurrence": "0, 1", "oh": "0.5, 1, 2",
             "confidence": "0.5, 0.8, 1"}


def values(text, name: str) -> list:
    known = sweepable_settings()[name]
    out = [field(v, name, whole=known["whole"], low=known["low"], high=known["high"])
           for v in str(text).replace(";", ",").split(",") if v.strip()]
    if not 1 <= len(out) <= MAX_VALUES:
        raise DfkdError(f"Give 1-{MAX_VALUES} values of {name}, separated by commas "
                        f"(e.g. {SUGGESTED.get(name, '1, 2')}).")
    return out


def _job(backbone, teacher, panel, base, rows, cols, per_class, seed, report, should_stop):
    return grid_sweep(backbone, teacher, panel, base, rows, cols, per_class, seed, should_stop=should_stop,
                      on_cell=lambda i, cell: report(("cell", i, cell)))


@shows_user_errors
@gpu(SAMPLING_S)
def sweep_ui(teacher_spec, row_setting, row_values, col_setting, col_values, per_class, seed, strength, bn, steps,
             window_start, window_end, mode, candidates, every, eta, use_cutmix, cutmix_step, cutmix_alpha,
             backbone_kind, backbone_path, request: gr.Request = None):
    """The grid, streamed cell by cell (heavy work: it waits its turn in the heavy line)."""
    teacher = session_teacher(teacher_spec)
    rows = (row_setting, values(row_values, row_setting))
    cols = None if col_setting in (None, "", NONE) else (col_setting, values(col_values, col_setting))
    per_class = field(per_class, "images per class", whole=True, low=1, high=4)
    total = len(rows[1]) * len(cols[1] if cols else [0]) * per_class * teacher.num_classes
    if total > MAX_IMAGES:
        raise DfkdError(f"This grid makes {total} images; a sweep here makes at most {MAX_IMAGES}. Use fewer values "
                        "or fewer images per class.")
    base = guidance(strength, bn, steps, window_start, window_end, mode, candidates, every, eta, use_cutmix,
                    cutmix_step, cutmix_alpha)
    source, stop = backbone_source(backbone_kind, backbone_path), cancelling.start(request, JOB)
    try:
        panel = demo_panel(teacher)
    except DfkdError:  # no Fashion-MNIST here, or other classes: the teacher's figures only
        panel = None
    cells, classes = [], teacher.num_classes
    key = views.key_html(teacher.class_names, per_class)
    try:
        with line.HEAVY.place(request, "a sweep") as ticket:
            for place in ticket.wait(stop):
                yield place, gr.skip()
            yield f"Sampling {total} images ...", key + views.grid_html(rows, cols, cells, classes)
            backbone = load_backbone_cached(source)
            for item in stream(_job, backbone, teacher, panel, base, rows, cols, per_class,
                               field(seed, "seed", whole=True, low=0), stop=stop):
                if item[0] == "cell":
                    cells.append(item[2])
                    n = len(rows[1]) * len(cols[1] if cols else [0])
                    yield f"Cell {len(cells)} of {n} done ...", key + views.grid_html(rows, cols, cells, classes)
            yield (f"**Done**: {total} images, judged cell by cell." +
                   ("" if panel else " (Judges unavailable here: the teacher's figures only.)"), gr.skip())
    except Cancelled as e:
        yield f"**{e}** The cells above are the ones that finished.", gr.skip()
    finally:
        cancelling.finish(request, JOB, stop)


def _setting_changed(name, axis: str):
    if name in (None, "", NONE):
        return gr.update(value="", info="Leave empty for one column")
    d = sweepable_settings()[name]
    return gr.update(value=SUGGESTED.get(name, ""), info=f"{name}: {d['help']} (comma-separated)")


def build(teacher_spec, settings: list, backbone: list, seed) -> None:
    """The panel; settings and backbone: the Samples tab's controls (samples_config.guidance's
    order, then kind and path); seed: the tab's seed (the grid's first seed)."""
    names = list(sweepable_settings())
    with gr.Accordion("Compare settings: a grid of one or two settings, every class, every judge", open=True,
                      elem_id="sweep-panel"):
        with gr.Row():
            row_setting = gr.Dropdown(names, value="strength", label="Rows: setting", elem_id="sweep-rows",
                                      info="The setting that changes from row to row")
            row_values = gr.Textbox(SUGGESTED["strength"], label="Row values", elem_id="sweep-row-values",
                                    info=f"strength: {sweepable_settings()['strength']['help']} (comma-separated)")
        with gr.Row():
            col_setting = gr.Dropdown([NONE] + names, value=NONE, label="Columns: setting", elem_id="sweep-cols",
                                      info="A second setting that changes from column to column (optional)")
            col_values = gr.Textbox("", label="Column values", elem_id="sweep-col-values",
                                    info="Leave empty for one column")
        per_class = checked(gr.Slider(1, 4, value=1, step=1, label="Images per class in each cell",
                                      info="Seeds per class; every cell uses the same ones"))
        run = gr.Button("Run sweep", elem_id="run-sweep")
        status = gr.Markdown(elem_id="sweep-status")
        grid = gr.HTML(figures.note("Each cell: every class with the same seeds, judged by every judge."),
                       css_template=views.CSS, elem_id="sweep")
    for setting, vals, axis in ((row_setting, row_values, "rows"), (col_setting, col_values, "columns")):
        setting.change(lambda n, axis=axis: _setting_changed(n, axis), setting, vals, api_visibility="private",
                       queue=False)
    clicked = cancelling.armed(run.click, JOB)
    on(clicked, sweep_ui, [teacher_spec, row_setting, row_values, col_setting, col_values, per_class, seed,
                           *settings, *backbone], [status, grid], status, api_name="settings_sweep",
       concurrency_id=line.HEAVY_POOL, concurrency_limit=line.POOL_SIZE)
    phone.scroll_to_result(run, "sweep-status")
