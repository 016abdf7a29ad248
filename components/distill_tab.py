"""Distill tab: pick a sample set (with a warning when it holds too few images per class) and
a student, launch, watch loss and test-accuracy curves live, cancel (also while waiting in
the heavy line), download the finished student (with a warning when it cannot be trusted),
and compare past runs side by side (distill_compare.py). Each control's default, range and
help come from DistillSettings."""

import time

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.distill.config import DistillSettings
from dfkd_core.errors import Cancelled
from dfkd_core.paths import TEACHER, checked_name
from dfkd_core.pipeline.runs import (
    distill_job,
    distill_settings,
    few_images_warning,
    reserve_run_name,
    runs_table,
    sample_count,
    sample_sets,
    student_warning,
)
from dfkd_core.runtime.streaming import stream

from . import cancelling, distill_compare, line, phone
from . import distill_figures as views
from .common import field, session_teacher, shows_user_errors
from .reporting import PREFIX, on
from .set_picker import SetPicker
from .settings_controls import checkbox, info, number, slider

EVAL_DATASETS = ["fashion-mnist", "cifar10", "cifar100", "none"]
JOB = "distill"  # its Cancel button's job name (components/cancelling.py)
RUN_PREFIX = "student"  # default run names: student-1, student-2, ...
PROGRESS_SECONDS = 0.3
NO_RUN = ("No run yet: pick a sample set and press **Distil**. The loss and test-accuracy curves appear here "
          "after the first epoch.")
NO_RUNS = "**Runs**: none finished yet. Each finished run is listed here, to compare them."


def _runs():
    """(the Runs table, its "none yet" line, the compare picker: every run, the two newest picked): the
    table only when it has rows."""
    table = runs_table()
    return (gr.update(value=views.runs_html(table), visible=len(table) > 0), gr.update(visible=len(table) == 0),
            gr.update(choices=list(table["run"]) if len(table) else [], value=list(table["run"])[:2]))


def _settings(student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd, eval_set) -> dict:
    """The run's distill settings, checked whole by the engine before a run folder exists."""
    return distill_settings({"student": student, "epochs": field(epochs, "epochs", whole=True),
                             "temperature": field(temperature, "temperature"),
                             "batch_size": field(batch_size, "batch size", whole=True),
                             "lr": field(lr, "learning rate"), "ce_weight": field(ce_weight, "CE weight"),
                             "mixup": field(mixup, "mixup"), "simkd": bool(simkd), "eval": eval_set})


def set_note_ui(teacher_spec, label):
    """What the picked set holds, with a warning when a student cannot learn much from it."""
    sets = sample_sets()
    if label not in sets:
        return ""
    names = session_teacher(teacher_spec).class_names
    warning = few_images_warning(sets[label], names)
    text = f"**{sample_count(sets[label]):,} images** in `{label}`."
    return text + (f"\n\n{PREFIX}{warning}" if warning else "")


@shows_user_errors
def distill_ui(teacher_spec, sample_set, student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd,
               eval_set, run_name, request: gr.Request = None):
    settings = _settings(student, epochs, temperature, batch_size, lr, ce_weight, mixup, simkd, eval_set)
    sets = sample_sets()
    if sample_set not in sets:
        raise DfkdError(f"Pick a sample set (found: {', '.join(sets) or 'none yet: add samples in the Samples tab'}).")
    # empty: a new name, reserved now (two visitors launching together never share one)
    run_name = checked_name((run_name or "").strip(), "Run") if (run_name or "").strip() else \
        reserve_run_name(RUN_PREFIX)
    spec = teacher_spec or {"source": str(TEACHER)}
    teacher = session_teacher(spec)
    refs = views.references(teacher) if eval_set != "none" else []
    rows, steps, done, shown_at = [], 0, 0.0, 0.0
    stop = cancelling.start(request, JOB)  # before the first yield: Cancel works from the first moment
    skip3 = (gr.skip(),) * 3
    try:
        with line.HEAVY.place(request, "a distillation") as ticket:
            for place in ticket.wait(stop):
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), place, run_name, gr.skip(), gr.skip()
            yield (views.chart(rows, refs), gr.skip(), gr.skip(), gr.skip(),
                   views.bar(0, 1, f"Run `{run_name}`: starting on {sample_count(sets[sample_set])} images"),
                   run_name, gr.skip(), gr.skip())
            for kind, *payload in stream(distill_job, sets[sample_set], settings, run_name, teacher, spec, stop=stop):
                if kind == "progress":
                    steps, (done, total) = steps + 1, payload
                    if time.monotonic() - shown_at > PROGRESS_SECONDS:  # a few page updates a second at most
                        shown_at = time.monotonic()
                        text = f"Epoch {done:.1f} of {total}, step {steps}" + (
                            "; evaluating and exporting the student ..." if done >= total else "")
                        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), views.bar(done, total, text), *skip3
                elif kind == "epoch":
                    rows.append(payload[0])
                    yield (views.chart(rows, refs), gr.skip(), gr.skip(), gr.skip(),
                           views.bar(payload[0]["epoch"], settings["epochs"], f"Epoch {payload[0]['epoch']} done"),
                           *skip3)
                elif "student" in payload[0]["results"]:  # the run finished: its student was exported
                    out = payload[0]
                    warning = student_warning(out["results"], sets[sample_set], teacher.class_names)
                    table, none_yet, picker = _runs()
                    yield (views.chart(rows, refs), gr.update(value=views.card(out["results"]), visible=True),
                           gr.update(value=out["files"], visible=True), table,
                           f"Done: run `{run_name}`." + (f"\n\n{PREFIX}{warning}" if warning else ""),
                           "", none_yet, picker)  # the next run gets a new name
                else:
                    raise Cancelled()
    except Cancelled as e:
        table, none_yet, picker = _runs()
        where = ("**Cancelled while waiting in line**: nothing ran." if isinstance(e, line.LeftTheLine) else
                 f"**Cancelled at step {steps}** (epoch {done:.1f} of {settings['epochs']}): no student was exported "
                 "and the run is not finished. Distil again under the same name to resume from its last whole epoch.")
        yield views.chart(rows, refs), None, None, table, where, gr.skip(), none_yet, picker
    finally:
        cancelling.finish(request, JOB, stop)


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, JOB):
        return "Cancelling: the run stops after its current step (or leaves the line) ..."
    return "No run of yours is in progress."


def _controls():
    c = {"student": gr.Dropdown(list(DistillSettings.__dataclass_fields__["student"].metadata["choices"]),
                                value="wrn_16_1", label="Student architecture", info=info(DistillSettings, "student"))}
    c["epochs"] = slider(DistillSettings, "epochs", "Epochs", 1, shown=(1, 200), elem_id="distill-epochs")
    c["temperature"] = slider(DistillSettings, "temperature", "Temperature T", 0.5, shown=(1, 10))
    with gr.Accordion("Options", open=False):
        c["batch_size"] = slider(DistillSettings, "batch_size", "Batch size", 16, shown=(16, 512))
        c["lr"] = number(DistillSettings, "lr", "Learning rate (SGD, one-cycle)")
        c["ce_weight"] = slider(DistillSettings, "ce_weight", "CE on the teacher's argmax (weight)", 0.05,
                                shown=(0, 1))
        c["mixup"] = slider(DistillSettings, "mixup", "Mixup: images mixed with weight ~ Beta(a, a); 0 is off", 0.1,
                            shown=(0, 2))
        c["simkd"] = checkbox(DistillSettings, "simkd",
                              "SimKD: share the teacher's classifier (projector + frozen head)")
        c["eval_set"] = gr.Dropdown(EVAL_DATASETS, value="fashion-mnist", label="Real test set (every epoch)",
                                    info="Real images the student is tested on after each epoch (none: no test)")
    return c


def build(teacher_spec: gr.State) -> list[SetPicker]:
    """The tab's components; returns its sample-set picker (app.py lists the sets on load)."""
    with gr.Row():
        with gr.Column(scale=1):
            picker = SetPicker(elem_id="distill-sets")
            sample_set = picker.dropdown
            set_note = gr.Markdown(elem_id="distill-set-note")
            c = _controls()
            run_name = gr.Textbox("", elem_id="distill-run-name", placeholder=f"empty: a new one ({RUN_PREFIX}-N)",
                                  label="Run name (a new one per run; rerun a name to resume it)",
                                  info="Empty: a new name; a cancelled run's name stays here, to resume it")
            with gr.Row():
                launch = gr.Button("Distil", variant="primary", elem_id="distill-launch")
                cancel = gr.Button("Cancel", variant="stop", elem_id="distill-cancel")
        with gr.Column(scale=2):
            status = gr.Markdown(NO_RUN, elem_id="distill-status")  # first: right under Distil on a phone
            curves = gr.Plot(label="Curves", visible=False, elem_id="distill-curves")  # from the first epoch on
            card = gr.Dataframe(label="Student card", interactive=False, visible=False, wrap=True)
            files = gr.File(label="Download (safetensors, card, ONNX)", file_count="multiple", visible=False)
            table = gr.HTML(label="Runs", css_template=views.RUNS_CSS, visible=False, elem_id="distill-runs")
            none_yet = gr.Markdown(NO_RUNS, elem_id="distill-no-runs")
            compare = distill_compare.build()

    refresh_runs = gr.Button("Refresh runs", visible=False)  # the API's way to list runs
    refresh_runs.click(lambda: views.runs_html(runs_table()), None, table, api_name="refresh_runs",
                       concurrency_limit=None)
    gr.on(None, _runs, None, [table, none_yet, compare], api_visibility="private", concurrency_limit=None)  # page load
    sample_set.change(set_note_ui, [teacher_spec, sample_set], set_note, api_visibility="private",
                      concurrency_limit=None)
    clicked = cancelling.armed(launch.click, JOB)
    on(clicked, distill_ui, [teacher_spec, sample_set, c["student"], c["epochs"], c["temperature"],
                             c["batch_size"], c["lr"], c["ce_weight"], c["mixup"], c["simkd"], c["eval_set"],
                             run_name], [curves, card, files, table, status, run_name, none_yet, compare],
       status, api_name="distill", concurrency_id=line.HEAVY_POOL, concurrency_limit=line.POOL_SIZE)
    phone.scroll_to_result(launch, "distill-status")
    # not cancels=[ev]: the run must end itself, so the tab can say where it stopped
    cancel.click(cancel_ui, None, status, api_name="cancel_distill", concurrency_limit=None, queue=False)
    return [picker]
