"""Teacher tab: choose the demo teacher or upload one (its architecture and class count read
off the file, so Load works as the fields stand), see its card, evaluate it; the page's
header names the teacher every tab uses."""

import shutil
import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from dfkd_core import DfkdError
from dfkd_core.errors import Cancelled
from dfkd_core.models.names import ARCHITECTURES
from dfkd_core.paths import TEACHER as DEMO_TEACHER
from dfkd_core.runtime.streaming import stream
from dfkd_core.teacher.facts import checkpoint_facts
from dfkd_core.teacher.report import describe_teacher, evaluate_teacher, load_teacher_cached

from . import cancelling, line
from .common import field, session_teacher, user_error
from .fields import checked
from .reporting import on
from .uploads import load_uploaded_teacher, stage_checkpoint_upload

DEMO, UPLOAD = "Demo teacher (Fashion-MNIST)", "Upload a checkpoint"
EVAL_DATASETS = ["fashion-mnist", "cifar10", "cifar100"]
JOB = "teacher-eval"  # its Cancel button's job name (components/cancelling.py)


def _load(choice, files, arch, num_classes):
    if choice == DEMO:
        return load_teacher_cached(str(DEMO_TEACHER)), {"source": str(DEMO_TEACHER)}
    # empty (or 0, as an emptied number box sends it): read from the weights
    num_classes = None if not num_classes else field(num_classes, "number of classes", whole=True, low=2)
    paths = _paths(files)
    if not arch and paths:  # the architecture the file's layout shows, when it shows one
        arch = _facts(paths)["arch"]
    return load_uploaded_teacher(paths, arch, num_classes)


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


def header_text(spec) -> str:
    """The page header's line naming the teacher every tab uses."""
    if not spec or spec.get("source") == str(DEMO_TEACHER):
        return "Using the demo teacher (WRN-16-2, Fashion-MNIST)."
    try:
        teacher = session_teacher(spec)
    except DfkdError:
        return "Using the demo teacher (WRN-16-2, Fashion-MNIST)."
    name = spec["source"].removeprefix("uploaded ").split(" (")[0]
    return (f"Using **your teacher**: {teacher.info.get('arch', 'a classifier')} from `{name}`, "
            f"{teacher.num_classes} classes.")


def _paths(files) -> list[str]:
    return [f if isinstance(f, str) else f.name for f in (files or [])]


def _facts(paths) -> dict:
    """What the uploaded checkpoint says about itself (engine: teacher.facts)."""
    folder = Path(tempfile.mkdtemp(prefix="dfkd-facts-"))
    try:
        return checkpoint_facts(stage_checkpoint_upload(paths, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def facts_ui(files):
    """Architecture and class count read off an uploaded checkpoint (left as they are when the file does not say)."""
    paths = _paths(files)
    if not paths:
        return gr.skip(), gr.skip(), gr.skip()
    try:
        facts = _facts(paths)
    except DfkdError as e:
        return gr.skip(), gr.skip(), f"⚠ {e}"
    arch = gr.update(value=facts["arch"]) if facts["arch"] else gr.skip()
    classes = gr.update(value=facts["num_classes"]) if facts["num_classes"] else gr.skip()
    several = f" It fits {', '.join(facts['matches'])}: pick one." if len(facts["matches"]) > 1 else ""
    found = (f"Read from the file: {facts['arch'] or 'architecture not recognised'}, "
             f"{facts['num_classes'] or 'unknown'} classes.{several} Press **Load teacher**.")
    return arch, classes, found


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
    progress(0, desc="Waiting for a free slot")
    stop = cancelling.start(request, JOB)
    try:
        with line.turn(line.PREVIEW, request, "an evaluation", stop):
            progress(0, desc="Loading the test set")
            for kind, *payload in stream(_evaluate_job, teacher, dataset, stop=stop):
                if kind == "result":
                    result = payload[0]
                else:
                    done, total = kind, payload[0]
                    progress((done, total), desc="Evaluating", unit="images")
    except line.LeftTheLine:
        return "**Cancelled** while waiting in line: no accuracy."
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
            choice = gr.Radio([DEMO, UPLOAD], value=DEMO, label="Teacher",
                              info="The trained classifier whose knowledge the student learns")
            files = gr.File(label="Checkpoint (.safetensors/.pth/.pt, or card .json + weights)",
                            file_count="multiple", file_types=[".safetensors", ".pth", ".pt", ".json"],
                            visible=False, elem_id="teacher-files")
            arch = gr.Dropdown(list(ARCHITECTURES), value=None, allow_custom_value=True, visible=False,
                               label="Architecture (for bare weights; torchvision:NAME also works)",
                               info="Filled in from the file when its layout matches a known architecture")
            # no minimum: an empty box (which the page may send as 0) means "read it from the weights"
            num_classes = checked(gr.Number(label="Number of classes (read from the weights)", precision=0,
                                            value=None, visible=False, elem_id="teacher-classes",
                                            info="Filled in from the file; leave empty to read it from the weights"),
                                  optional=True)
            load_btn = gr.Button("Load teacher", variant="primary", elem_id="load-teacher")
        with gr.Column(scale=2):
            status = gr.Markdown("Every tab uses the demo teacher (its card below) until you load another one "
                                 "here.", elem_id="teacher-status")
            # every row at once (no inner scroll box), the field names unbroken on a phone
            card = gr.Dataframe(_demo_card, headers=["field", "value"], label="Card", interactive=False, wrap=True,
                                column_widths=["38%", "62%"], max_height=2000, elem_id="teacher-card")
            with gr.Row():
                dataset = gr.Dropdown(EVAL_DATASETS, value="fashion-mnist", label="Test set",
                                      info="Real test images, to measure the teacher's accuracy")
                eval_btn = gr.Button("Evaluate on the test set", elem_id="evaluate-teacher")
                cancel_btn = gr.Button("Cancel", variant="stop", elem_id="teacher-cancel")
            result = gr.Markdown(elem_id="teacher-accuracy")

    choice.change(lambda c: [gr.update(visible=c == UPLOAD)] * 3, choice, [files, arch, num_classes],
                  api_visibility="private", queue=False)
    files.upload(facts_ui, files, [arch, num_classes, status], api_visibility="private", concurrency_limit=None)
    on(load_btn.click, load_teacher_ui, [choice, files, arch, num_classes], [spec, card, status], status,
       api_name="load_teacher", concurrency_limit=None)  # cheap: never waits behind compute
    clicked = cancelling.armed(eval_btn.click, JOB)
    on(clicked, evaluate_ui, [spec, dataset], result, result, api_name="evaluate_teacher",
       concurrency_id=line.PREVIEW_POOL, concurrency_limit=line.POOL_SIZE)
    # not cancels=[...]: the evaluation runs in a worker thread that must stop itself
    cancel_btn.click(cancel_ui, None, result, api_name="cancel_evaluation", concurrency_limit=None, queue=False)
    return spec
