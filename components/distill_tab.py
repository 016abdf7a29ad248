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
from dfkd_core.runs import distill_job, runs_table, sample_count, sample_sets
from dfkd_core.streaming import stream

from .common import session_teacher

EVAL_DATASETS = ["fashion-mnist", "cifar10", "cifar100", "none"]


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


def distill_ui(teacher_spec, sample_set, student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd,
               eval_set, run_name, progress=gr.Progress()):
    sets = sample_sets()
    if sample_set not in sets:
        raise gr.Error(f"Pick a sample set (found: {', '.join(sets) or 'none yet: add samples in the Samples tab'}).")
    spec = teacher_spec or {"source": str(TEACHER)}
    settings = {"student": student, "epochs": int(epochs), "temperature": float(temperature),
                "batch_size": int(batch_size), "lr": float(lr), "ce_weight": float(ce_weight), "mixup": float(mixup),
                "simkd": bool(simkd)}
    if eval_set != "none":
        settings["eval"] = eval_set
    rows = []
    try:
        teacher = session_teacher(spec)
        progress(0, desc=f"{sample_count(sets[sample_set])} images")
        for kind, *payload in stream(distill_job, sets[sample_set], settings, run_name, teacher, spec):
            if kind == "progress":
                done, total = payload
                progress(done / total, desc=f"epoch {done:.1f}/{total}")
            elif kind == "epoch":
                rows.append(payload[0])
                yield _curves(rows), gr.skip(), gr.skip(), gr.skip()
            else:
                out = payload[0]
                yield _curves(rows), _card(out["results"]), out["files"], runs_table()
    except DfkdError as e:
        raise gr.Error(str(e), duration=None)


def build(teacher_spec: gr.State) -> None:
    with gr.Row():
        with gr.Column(scale=1):
            with gr.Row():
                sample_set = gr.Dropdown(list(sample_sets()), label="Sample set", allow_custom_value=True)
                refresh = gr.Button("↻", size="sm", scale=0)
            student = gr.Dropdown(list(ARCHITECTURES), value="wrn_16_1", label="Student architecture")
            epochs = gr.Slider(1, 200, value=DistillConfig.epochs, step=1, label="Epochs")
            temperature = gr.Slider(1, 10, value=DistillConfig.temperature, step=0.5, label="Temperature T")
            with gr.Accordion("Options", open=False):
                batch_size = gr.Slider(16, 512, value=DistillConfig.batch_size, step=16, label="Batch size")
                lr = gr.Number(value=DistillConfig.lr, label="Learning rate (SGD, one-cycle)")
                ce_weight = gr.Slider(0, 1, value=0, step=0.05, label="CE on the teacher's argmax (weight)")
                mixup = gr.Slider(0, 2, value=DistillConfig.mixup, step=0.1,
                                  label="Mixup: images mixed with weight ~ Beta(a, a); 0 is off")
                simkd = gr.Checkbox(label="SimKD: share the teacher's classifier (projector + frozen head)")
                eval_set = gr.Dropdown(EVAL_DATASETS, value="fashion-mnist", label="Real test set (every epoch)")
            run_name = gr.Textbox(value="my-student", label="Run name (rerun the same name to resume)")
            with gr.Row():
                launch = gr.Button("Distil", variant="primary", elem_id="distill-launch")
                cancel = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=2):
            curves = gr.Plot(label="Curves")
            card = gr.Dataframe(label="Student card", interactive=False)
            files = gr.File(label="Download (safetensors, card, ONNX)", file_count="multiple")
            table = gr.Dataframe(runs_table(), label="Runs", interactive=False)

    refresh.click(lambda: (gr.update(choices=list(sample_sets())), runs_table()), None, [sample_set, table],
                  api_name="refresh_runs")
    ev = launch.click(distill_ui, [teacher_spec, sample_set, student, epochs, temperature, batch_size, lr, ce_weight,
                                   mixup, simkd, eval_set, run_name], [curves, card, files, table],
                      api_name="distill", concurrency_id="compute", concurrency_limit=1)
    cancel.click(None, None, None, cancels=[ev])
