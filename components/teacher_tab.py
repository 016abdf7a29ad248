"""Teacher tab: choose the demo teacher or upload one, see its card, evaluate it."""

import gradio as gr
import pandas as pd

from dfkd_core import DfkdError
from dfkd_core.errors import Cancelled
from dfkd_core.models.names import ARCHITECTURES
from dfkd_core.paths import TEACHER as DEMO_TEACHER
from dfkd_core.runtime.streaming import stream
from dfkd_core.teacher.report import describe_teacher, evaluate_teacher, load_teacher_cached

from . import cancelling
from .common import field, session_teacher, user_error
from .fields import checked
from .reporting import on
from .uploads import load_uploaded_teacher

DEMO, UPLOAD = "Demo teacher (Fashion-MNIST)", "Upload a checkpoint"
EVAL_DATASETS = ["fashion-mnist", "cifar10", "cifar100"]
JOB = "teacher-eval"  # its Cancel button's job name (components/cancelling.py)


def _load(choice, files, arch, num_classes):
    if choice == DEMO:
        return load_teacher_cached(str(DEMO_TEACHER)), {"source": str(DEMO_TEACHER)}
    num_classes = None if num_classes is None else field(num_classes, "number of classes", whole=True, low=2)
    return load_uploaded_teacher([f if isinstance(f, str) else f.name for f in (files or [])], arch, num_classes)


HIDDEN_FIELDS = {"source", "card_command"}  # server paths and command lines are not for visitors


def _value(key: str, value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if key == "parameters":
        return f"{value:,}"
    if key == "card_test_accuracy":
        return f"{100 * value:.2f} %"
    if key == "card_wall_time_s":
        return f"{value / 60:.0f} min"
    return str(value)


def _card_table(summary: dict) -> pd.DataFrame:
    rows = [(k.removeprefix("card_").replace("_", " ").replace("wall time s", "training time"), _value(k, v))
            for k, v in summary.items() if k not in HIDDEN_FIELDS]
    return pd.DataFrame(rows, columns=["field", "value"])


def _demo_card() -> pd.DataFrame:
    """The demo teacher's card, shown on every page load (the teacher is cached)."""
    return _card_table(describe_teacher(load_teacher_cached(str(DEMO_TEACHER))))


def load_teacher_ui(choice, files, arch, num_classes):
    try:
        teacher, spec = _load(choice, files, arch, num_classes)
    except DfkdError as e:
        raise user_error(e) from None
    summary = describe_teacher(teacher)
    status = (f"Loaded **{summary['architecture']}**: {summary['classes']} classes, "
              f"{summary['parameters']:,} parameters.")
    return spec, _card_table(summary), status


def _evaluate_job(teacher, dataset, report, should_stop):
    def progress(done, total):
        if should_stop():
            raise Cancelled(f"{done:,} of {total:,} images")
        report((done, total))
    return evaluate_teacher(teacher, dataset, progress=progress)


def evaluate_ui(spec, dataset, request: gr.Request = None, progress=gr.Progress()):  # noqa: B008 - Gradio's way
    """Accuracy on the test set; the bar tracks the batches, Cancel stops after the current one."""
    try:
        teacher = session_teacher(spec or {"source": str(DEMO_TEACHER)})
    except DfkdError as e:
        raise user_error(e) from None
    progress(0, desc="Loading the test set")
    stop = cancelling.start(request, JOB)
    try:
        for kind, *payload in stream(_evaluate_job, teacher, dataset, stop=stop):
            if kind == "result":
                result = payload[0]
            else:
                done, total = kind, payload[0]
                progress((done, total), desc="Evaluating", unit="images")
    except Cancelled as e:
        return f"**Cancelled** after {e}: no accuracy."
    except DfkdError as e:
        raise user_error(e) from None
    finally:
        cancelling.finish(request, JOB, stop)
    return f"Test accuracy: **{100 * result['accuracy']:.2f}%** on {result['dataset']} ({result['images']:,} images)"


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, JOB):
        return "Cancelling the evaluation ..."
    return "No evaluation of yours is running."


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
            status = gr.Markdown("Every tab uses the demo teacher (its card below) until you load another one "
                                 "here.", elem_id="teacher-status")
            # every row at once (no inner scroll box), the field names unbroken on a phone
            card = gr.Dataframe(_demo_card, headers=["field", "value"], label="Card", interactive=False, wrap=True,
                                column_widths=["38%", "62%"], max_height=2000, elem_id="teacher-card")
            with gr.Row():
                dataset = gr.Dropdown(EVAL_DATASETS, value="fashion-mnist", label="Test set")
                eval_btn = gr.Button("Evaluate on the test set", elem_id="evaluate-teacher")
                cancel_btn = gr.Button("Cancel", variant="stop", elem_id="teacher-cancel")
            result = gr.Markdown(elem_id="teacher-accuracy")

    choice.change(lambda c: [gr.update(visible=c == UPLOAD)] * 3, choice, [files, arch, num_classes],
                  api_visibility="private")
    on(load_btn.click, load_teacher_ui, [choice, files, arch, num_classes], [spec, card, status], status,
       api_name="load_teacher", concurrency_limit=None)  # cheap: never waits behind compute
    on(eval_btn.click, evaluate_ui, [spec, dataset], result, result, api_name="evaluate_teacher",
       concurrency_id="compute", concurrency_limit=1)
    # not cancels=[...]: the evaluation runs in a worker thread that must stop itself
    cancel_btn.click(cancel_ui, None, result, api_name="cancel_evaluation", concurrency_limit=None)
    return spec
