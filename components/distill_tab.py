"""Distill tab: pick a sample set and a student, launch, watch loss and test-accuracy
curves live, cancel, download the finished student, and compare past runs."""

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dfkd_core import DfkdError
from dfkd_core.demo import TEACHER
from dfkd_core.distill import DistillConfig
from dfkd_core.models.zoo import ARCHITECTURES
from dfkd_core.guidance import Cancelled
from dfkd_core.runs import distill_job, runs_table, sample_count, sample_sets
from dfkd_core.sampling import checked_name
from dfkd_core.streaming import stream

from . import cancelling
from .common import field, session_teacher, shows_user_errors
from .fields import checked

EVAL_DATASETS = ["fashion-mnist", "cifar10", "cifar100", "none"]
JOB = "distill"  # its Cancel button's job name (components/cancelling.py)


def _curves(rows: list[dict]) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "test accuracy"))
    epochs = [r["epoch"] for r in rows]
    fig.add_trace(go.Scatter(x=epochs, y=[r["train_loss"] for r in rows], mode="lines+markers", name="loss"), 1, 1)
    if rows and "test_acc" in rows[0]:
        fig.add_trace(go.Scatter(x=epochs, y=[r["test_acc"] for r in rows], mode="lines+markers",
                                 name="test acc"), 1, 2)
    fig.update_layout(height=300, showlegend=False, margin=dict(l=40, r=20, t=40, b=40))
    fig.update_xaxes(title_text="epoch")
    return fig


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
               eval_set, run_name, request: gr.Request = None, progress=gr.Progress()):
    settings = _settings(student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd, eval_set)
    sets = sample_sets()
    if sample_set not in sets:
        raise DfkdError(f"Pick a sample set (found: {', '.join(sets) or 'none yet: add samples in the Samples tab'}).")
    checked_name(run_name, "Run")
    spec = teacher_spec or {"source": str(TEACHER)}
    teacher = session_teacher(spec)
    rows, steps, done = [], 0, 0.0
    progress(0, desc=f"{sample_count(sets[sample_set])} images")
    stop = cancelling.start(request, JOB)
    try:
        for kind, *payload in stream(distill_job, sets[sample_set], settings, run_name, teacher, spec, stop=stop):
            if kind == "progress":
                steps, (done, total) = steps + 1, payload
                progress(done / total, desc=f"epoch {done:.1f}/{total}")
            elif kind == "epoch":
                rows.append(payload[0])
                yield _curves(rows), gr.skip(), gr.skip(), gr.skip(), f"Epoch {payload[0]['epoch']} done."
            elif "student" in payload[0]["results"]:  # the run finished: its student was exported
                out = payload[0]
                yield _curves(rows), _card(out["results"]), out["files"], runs_table(), "Done."
            else:
                raise Cancelled()
    except Cancelled:
        yield (_curves(rows), None, None, runs_table(),
               f"**Cancelled at step {steps}** (epoch {done:.1f} of {settings['epochs']}): no student was exported "
               "and the run is not finished. Distil again under the same name to resume from its last whole epoch.")
    finally:
        cancelling.finish(request, JOB, stop)


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, JOB):
        return "Cancelling: the run stops after its current step ..."
    return "No run of yours is in progress."


def build(teacher_spec: gr.State) -> None:
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                sample_set = gr.Dropdown(list(sample_sets()), label="Sample set", allow_custom_value=True)
                refresh = gr.Button("↻", size="sm", scale=0)
            student = gr.Dropdown(list(ARCHITECTURES), value="wrn_16_1", label="Student architecture")
            epochs = checked(gr.Slider(1, 200, value=DistillConfig.epochs, step=1, label="Epochs"))
            temperature = checked(gr.Slider(1, 10, value=DistillConfig.temperature, step=0.5, label="Temperature T"))
            with gr.Accordion("Options", open=False):
                batch_size = checked(gr.Slider(16, 512, value=DistillConfig.batch_size, step=16, label="Batch size"))
                lr = checked(gr.Number(value=DistillConfig.lr, label="Learning rate (SGD, one-cycle)"))
                ce_weight = checked(gr.Slider(0, 1, value=0, step=0.05, label="CE on the teacher's argmax (weight)"))
                mixup = checked(gr.Slider(0, 2, value=DistillConfig.mixup, step=0.1,
                                          label="Mixup: images mixed with weight ~ Beta(a, a); 0 is off"))
                simkd = gr.Checkbox(label="SimKD: share the teacher's classifier (projector + frozen head)")
                eval_set = gr.Dropdown(EVAL_DATASETS, value="fashion-mnist", label="Real test set (every epoch)")
            run_name = gr.Textbox(value="my-student", label="Run name (rerun the same name to resume)")
            with gr.Row():
                launch = gr.Button("Distil", variant="primary", elem_id="distill-launch")
                cancel = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=2):
            curves = gr.Plot(label="Curves")
            card = gr.Dataframe(label="Student card", interactive=False)
            status = gr.Markdown(elem_id="distill-status")
            files = gr.File(label="Download (safetensors, card, ONNX)", file_count="multiple")
            table = gr.Dataframe(runs_table(), label="Runs", interactive=False)

    refresh.click(lambda: (gr.update(choices=list(sample_sets())), runs_table()), None, [sample_set, table],
                  api_name="refresh_runs")
    launch.click(distill_ui, [teacher_spec, sample_set, student, epochs, temperature, batch_size, lr, ce_weight,
                              mixup, simkd, eval_set, run_name], [curves, card, files, table, status],
                 api_name="distill", concurrency_id="compute", concurrency_limit=1)
    # not cancels=[ev]: the run must end itself, so the tab can say where it stopped
    cancel.click(cancel_ui, None, status, api_name="cancel_distill", concurrency_limit=None)
