"""Teacher tab: choose the demo teacher or upload one, see its card, evaluate it."""

import gradio as gr
import pandas as pd

from dfkd_core import DfkdError
from dfkd_core.demo import TEACHER as DEMO_TEACHER
from dfkd_core.models.zoo import ARCHITECTURES
from dfkd_core.teacher_report import (
    describe_teacher,
    evaluate_teacher,
    load_teacher_cached,
)

from .common import field, session_teacher, user_error
from .fields import checked
from .uploads import load_uploaded_teacher

DEMO, UPLOAD = "Demo teacher (Fashion-MNIST)", "Upload a checkpoint"
EVAL_DATASETS = ["fashion-mnist", "cifar10", "cifar100"]


def _load(choice, files, arch, num_classes):
    if choice == DEMO:
        return load_teacher_cached(str(DEMO_TEACHER)), {"source": str(DEMO_TEACHER)}
    num_classes = None if num_classes is None else field(num_classes, "number of classes", whole=True, low=2)
    return load_uploaded_teacher([f if isinstance(f, str) else f.name for f in (files or [])], arch, num_classes)


def _card_table(summary: dict) -> pd.DataFrame:
    rows = [(k.replace("_", " "), ", ".join(v) if isinstance(v, list) else v) for k, v in summary.items()]
    return pd.DataFrame(rows, columns=["field", "value"]).astype(str)


def load_teacher_ui(choice, files, arch, num_classes):
    try:
        teacher, spec = _load(choice, files, arch, num_classes)
    except DfkdError as e:
        raise user_error(e) from None
    summary = describe_teacher(teacher)
    status = (f"Loaded **{summary['architecture']}**: {summary['classes']} classes, "
              f"{summary['parameters']:,} parameters.")
    return spec, _card_table(summary), status


def evaluate_ui(spec, dataset, progress=gr.Progress()):
    if not spec:
        raise user_error("Load a teacher first.")
    try:
        teacher = session_teacher(spec)
        progress(0, desc="Loading the test set")
        result = evaluate_teacher(teacher, dataset,
                                  progress=lambda done, total: progress(done / total, desc=f"{done}/{total} images"))
    except DfkdError as e:
        raise user_error(e) from None
    return f"Test accuracy: **{100 * result['accuracy']:.2f}%** on {result['dataset']} ({result['images']:,} images)"


def build() -> gr.State:
    """Adds the tab's components to the enclosing gr.Blocks; returns the loaded teacher's
    spec (per session), which other tabs read."""
    spec = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            choice = gr.Radio([DEMO, UPLOAD], value=DEMO, label="Teacher")
            files = gr.File(label="Checkpoint (.safetensors/.pth/.pt, or card .json + weights)",
                            file_count="multiple", file_types=[".safetensors", ".pth", ".pt", ".json"],
                            visible=False)
            arch = gr.Dropdown(list(ARCHITECTURES), value=None, allow_custom_value=True, visible=False,
                               label="Architecture (for bare weights; torchvision:NAME also works)")
            num_classes = checked(gr.Number(label="Number of classes (optional; read from the weights)", precision=0,
                                            minimum=2, visible=False), optional=True)
            load_btn = gr.Button("Load teacher", variant="primary", elem_id="load-teacher")
        with gr.Column(scale=2):
            status = gr.Markdown("No teacher loaded.", elem_id="teacher-status")
            card = gr.Dataframe(headers=["field", "value"], label="Card", interactive=False, wrap=True)
            with gr.Row():
                dataset = gr.Dropdown(EVAL_DATASETS, value="fashion-mnist", label="Test set")
                eval_btn = gr.Button("Evaluate on the test set", elem_id="evaluate-teacher")
                cancel_btn = gr.Button("Cancel", variant="stop")
            result = gr.Markdown(elem_id="teacher-accuracy")

    choice.change(lambda c: [gr.update(visible=c == UPLOAD)] * 3, choice, [files, arch, num_classes],
                  api_visibility="private")
    load_btn.click(load_teacher_ui, [choice, files, arch, num_classes], [spec, card, status],
                   api_name="load_teacher", concurrency_id="compute")
    ev = eval_btn.click(evaluate_ui, [spec, dataset], result, api_name="evaluate_teacher",
                        concurrency_id="compute", concurrency_limit=1)
    cancel_btn.click(None, None, None, cancels=[ev])
    return spec
