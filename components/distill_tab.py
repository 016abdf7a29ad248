"""Distill tab: pick a sample set and a student, launch, watch loss and test-accuracy
curves live, cancel, download the finished student, and compare past runs."""

import json
import time

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dfkd_core import DfkdError
from dfkd_core.distill.config import DistillConfig
from dfkd_core.errors import Cancelled
from dfkd_core.models.names import ARCHITECTURES
from dfkd_core.paths import STUDENT_REFERENCE, TEACHER, checked_name
from dfkd_core.pipeline.runs import distill_job, fresh_run_name, runs_table, sample_count, sample_sets
from dfkd_core.runtime.streaming import stream

from . import cancelling
from .common import field, session_teacher, shows_user_errors
from .fields import checked
from .reporting import on
from .set_picker import SetPicker

EVAL_DATASETS = ["fashion-mnist", "cifar10", "cifar100", "none"]
JOB = "distill"  # its Cancel button's job name (components/cancelling.py)
RUN_PREFIX = "student"  # default run names: student-1, student-2, ...
PROGRESS_SECONDS = 0.3
NO_RUN = ("No run yet: pick a sample set and press **Distil**. The loss and test-accuracy curves appear here "
          "after the first epoch.")
NO_RUNS = "**Runs**: none finished yet. Each finished run is listed here, to compare them."


def _references(teacher) -> list[tuple[str, float]]:
    """Horizontal lines on the accuracy chart: the teacher's accuracy from its card, and the
    demo's real-data reference student (trained on the real images) when the demo teacher is used."""
    lines = []
    if teacher is not None and teacher.info.get("test_accuracy") is not None:
        lines.append(("teacher", float(teacher.info["test_accuracy"])))
    if teacher is not None and teacher.info.get("source") == str(TEACHER) and STUDENT_REFERENCE.exists():
        card = json.loads(STUDENT_REFERENCE.read_text())
        lines.append((f"{card['arch']} trained on real data", float(card["test_accuracy"])))
    return lines


def _curves(rows: list[dict], references=()) -> go.Figure:
    # stacked, not side by side: each chart keeps the full width, also on a phone
    fig = make_subplots(rows=2, cols=1, subplot_titles=("training loss", "test accuracy (%)"), vertical_spacing=0.16)
    epochs = [r["epoch"] for r in rows]
    fig.add_trace(go.Scatter(x=epochs, y=[r["train_loss"] for r in rows], mode="lines+markers", name="loss"), 1, 1)
    accuracy = [100 * r["test_acc"] for r in rows if "test_acc" in r]  # (an empty trace still draws the axes)
    fig.add_trace(go.Scatter(x=epochs[:len(accuracy)], y=accuracy, mode="lines+markers", name="student"), 2, 1)
    last = max(epochs, default=1)
    for (name, acc), dash, colour in zip(references, ("dash", "dot"), ("#444", "#2a9d8f")):
        # named in the legend, so their labels never overlap however close the two figures are
        fig.add_trace(go.Scatter(x=[0, last], y=[100 * acc] * 2, mode="lines", name=f"{name} {100 * acc:.1f} %",
                                 line={"dash": dash, "color": colour}), 2, 1)
    fig.update_yaxes(range=[0, 100], ticksuffix=" %", row=2, col=1)
    fig.update_layout(height=540, showlegend=bool(references), margin=dict(l=40, r=20, t=40, b=40),
                      legend={"orientation": "h", "y": -0.12, "x": 0, "yanchor": "top"})
    # whole epochs only, and one axis title (the top chart's title collided with the lower one's)
    fig.update_xaxes(rangemode="tozero", tick0=0, dtick=max(1, -(-last // 8)))
    fig.update_xaxes(title_text="epoch", row=2, col=1)
    return fig


def _chart(rows: list[dict], references=()):
    """The curves, shown from the first finished epoch on (an empty chart is an empty box)."""
    return gr.update(value=_curves(rows, references), visible=bool(rows))


def _runs():
    """(the Runs table, its "none yet" line): the table only when it has rows."""
    table = runs_table()
    return gr.update(value=table, visible=len(table) > 0), gr.update(visible=len(table) == 0)


def _bar(done: float, total: float, text: str) -> str:
    """An honest progress line: the fraction of the run's training steps done so far."""
    percent = 100 * done / total if total else 0
    return (f'<progress max="100" value="{percent:.1f}" style="width:100%"></progress>'
            f"\n\n{text} ({percent:.0f} % of the run's steps)")


def _card(results: dict) -> pd.DataFrame:
    return pd.DataFrame([(k.replace("_", " "), str(v)) for k, v in results.items()], columns=["field", "value"])


def _settings(student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd, eval_set) -> dict:
    """The run's distill settings, checked by the engine's DistillConfig before a run folder exists."""
    settings = {"student": student, "epochs": field(epochs, "epochs", whole=True),
                "temperature": field(temperature, "temperature"),
                "batch_size": field(batch_size, "batch size", whole=True),
                "lr": field(lr, "learning rate"), "ce_weight": field(ce_weight, "CE weight"),
                "mixup": field(mixup, "mixup"), "simkd": bool(simkd)}
    DistillConfig(**{k: v for k, v in settings.items() if k in DistillConfig.__dataclass_fields__})
    if eval_set != "none":
        settings["eval"] = eval_set
    return settings


@shows_user_errors
def distill_ui(teacher_spec, sample_set, student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd,
               eval_set, run_name, request: gr.Request = None):
    settings = _settings(student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd, eval_set)
    sets = sample_sets()
    if sample_set not in sets:
        raise DfkdError(f"Pick a sample set (found: {', '.join(sets) or 'none yet: add samples in the Samples tab'}).")
    checked_name(run_name, "Run")
    spec = teacher_spec or {"source": str(TEACHER)}
    teacher = session_teacher(spec)
    references = _references(teacher) if eval_set != "none" else []
    rows, steps, done, shown_at = [], 0, 0.0, 0.0
    stop = cancelling.start(request, JOB)  # before the first yield: Cancel works from the first moment
    try:
        yield (_chart(rows, references), gr.skip(), gr.skip(), gr.skip(),
               _bar(0, 1, f"Starting on {sample_count(sets[sample_set])} images"), gr.skip(), gr.skip())
        for kind, *payload in stream(distill_job, sets[sample_set], settings, run_name, teacher, spec, stop=stop):
            if kind == "progress":
                steps, (done, total) = steps + 1, payload
                if time.monotonic() - shown_at > PROGRESS_SECONDS:  # a few page updates a second at most
                    shown_at = time.monotonic()
                    text = f"Epoch {done:.1f} of {total}, step {steps}" + (
                        "; evaluating and exporting the student ..." if done >= total else "")
                    yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), _bar(done, total, text), gr.skip(), gr.skip()
            elif kind == "epoch":
                rows.append(payload[0])
                yield (_chart(rows, references), gr.skip(), gr.skip(), gr.skip(),
                       _bar(payload[0]["epoch"], settings["epochs"], f"Epoch {payload[0]['epoch']} done"), gr.skip(),
                       gr.skip())
            elif "student" in payload[0]["results"]:  # the run finished: its student was exported
                out = payload[0]
                yield (_chart(rows, references), gr.update(value=_card(out["results"]), visible=True),
                       gr.update(value=out["files"], visible=True), *_runs()[:1], "Done.",
                       fresh_run_name(RUN_PREFIX), _runs()[1])
            else:
                raise Cancelled()
    except Cancelled:
        table, none_yet = _runs()
        yield (_chart(rows, references), None, None, table,
               f"**Cancelled at step {steps}** (epoch {done:.1f} of {settings['epochs']}): no student was exported "
               "and the run is not finished. Distil again under the same name to resume from its last whole epoch.",
               gr.skip(), none_yet)
    finally:
        cancelling.finish(request, JOB, stop)


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, JOB):
        return "Cancelling: the run stops after its current step ..."
    return "No run of yours is in progress."


def build(teacher_spec: gr.State) -> list[SetPicker]:
    """The tab's components; returns its sample-set picker (app.py lists the sets on load)."""
    with gr.Row():
        with gr.Column(scale=1):
            picker = SetPicker(elem_id="distill-sets")
            sample_set = picker.dropdown
            student = gr.Dropdown(list(ARCHITECTURES), value="wrn_16_1", label="Student architecture")
            epochs = checked(gr.Slider(1, 200, value=DistillConfig.epochs, step=1, label="Epochs", elem_id="distill-epochs"))
            temperature = checked(gr.Slider(1, 10, value=DistillConfig.temperature, step=0.5, label="Temperature T"))
            with gr.Accordion("Options", open=False):
                batch_size = checked(gr.Slider(16, 512, value=DistillConfig.batch_size, step=16, label="Batch size"))
                lr = checked(gr.Number(value=DistillConfig.lr, label="Learning rate (SGD, one-cycle)"))
                ce_weight = checked(gr.Slider(0, 1, value=0, step=0.05, label="CE on the teacher's argmax (weight)"))
                mixup = checked(gr.Slider(0, 2, value=DistillConfig.mixup, step=0.1,
                                          label="Mixup: images mixed with weight ~ Beta(a, a); 0 is off"))
                simkd = gr.Checkbox(label="SimKD: share the teacher's classifier (projector + frozen head)")
                eval_set = gr.Dropdown(EVAL_DATASETS, value="fashion-mnist", label="Real test set (every epoch)")
            run_name = gr.Textbox(value=lambda: fresh_run_name(RUN_PREFIX), elem_id="distill-run-name",
                                  label="Run name (a new one per run; rerun a name to resume it)")
            with gr.Row():
                launch = gr.Button("Distil", variant="primary", elem_id="distill-launch")
                cancel = gr.Button("Cancel", variant="stop", elem_id="distill-cancel")
        with gr.Column(scale=2):
            status = gr.Markdown(NO_RUN, elem_id="distill-status")  # first: right under Distil on a phone
            curves = gr.Plot(label="Curves", visible=False, elem_id="distill-curves")  # from the first epoch on
            card = gr.Dataframe(label="Student card", interactive=False, visible=False, wrap=True)
            files = gr.File(label="Download (safetensors, card, ONNX)", file_count="multiple", visible=False)
            table = gr.Dataframe(label="Runs", interactive=False, visible=False, elem_id="distill-runs")
            none_yet = gr.Markdown(NO_RUNS, elem_id="distill-no-runs")

    refresh_runs = gr.Button("Refresh runs", visible=False)  # the API's way to list runs
    refresh_runs.click(lambda: runs_table(), None, table, api_name="refresh_runs")
    gr.on(None, _runs, None, [table, none_yet], api_visibility="private", concurrency_limit=None)  # page load
    on(launch.click, distill_ui, [teacher_spec, sample_set, student, epochs, temperature, batch_size, lr, ce_weight,
                                  mixup, simkd, eval_set, run_name], [curves, card, files, table, status, run_name, none_yet],
       status, api_name="distill", concurrency_id="compute", concurrency_limit=1)
    # not cancels=[ev]: the run must end itself, so the tab can say where it stopped
    cancel.click(cancel_ui, None, status, api_name="cancel_distill", concurrency_limit=None)
    return [picker]
