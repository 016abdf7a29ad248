"""HiDFD tab: a few real images (uploaded, or the demo pool), labelled by the teacher; a
teacher-guided GAN trained on them with live loss curves and a per-class sample grid (with
a warning when it collapses a class); its samples sent to a named sample set for the Filter
and Distill tabs. Training and sending are heavy work: they wait their turn in the heavy
line. The engine names the run's folder and writes the samples (methods/hidfd/send.py)."""

import time
from pathlib import Path

import gradio as gr

from dfkd_core import DfkdError
from dfkd_core.errors import Cancelled
from dfkd_core.methods.hidfd.config import GANConfig
from dfkd_core.methods.hidfd.job import MAX_SAMPLES, hidfd_job
from dfkd_core.methods.hidfd.send import REAL_SUFFIX, fresh_gan_folder, send_samples
from dfkd_core.runtime.streaming import stream

from . import cancelling, line, phone
from . import hidfd_views as views
from .common import field, session_teacher, shows_user_errors
from .fields import checked
from .reporting import on
from .settings_controls import checkbox, number, slider

DEMO_POOL, UPLOAD = "Demo pool (Fashion-MNIST, never seen by the teacher)", "Upload images or a .zip"
IN_TOTAL, PER_CLASS = "in total", "per teacher-predicted class"
IMAGE_TYPES = [".zip", ".png", ".jpg", ".jpeg", ".bmp", ".webp"]
TRAIN, SEND = "hidfd-train", "hidfd-send"  # job names for its Cancel button (components/cancelling.py)
loss_figure, class_grid = views.loss_figure, views.class_grid  # (their old home)


def _paths(files):
    return [f if isinstance(f, str) else f.name for f in (files or [])]


def _config(steps, batch_size, oh, adc, bn, ms, feature_integration, cfs, g_ch, seed) -> GANConfig:
    steps = field(steps, "GAN steps", whole=True)
    return GANConfig.from_dict({"steps": steps, "batch_size": field(batch_size, "batch size", whole=True),
                                "oh": field(oh, "oh"), "adc": field(adc, "adc"), "bn": field(bn, "bn"),
                                "ms": field(ms, "ms"), "feature_integration": bool(feature_integration),
                                "cfs": bool(cfs), "g_ch": field(g_ch, "generator width", whole=True),
                                "seed": field(seed, "seed", whole=True, low=0),
                                "log_every": max(1, steps // 100), "samples_every": max(1, steps // 20)})


@shows_user_errors
def train_ui(teacher_spec, source_kind, files, how_many, mode, steps, batch_size, oh, adc, bn, ms,
             feature_integration, cfs, g_ch, seed, request: gr.Request = None):
    teacher = session_teacher(teacher_spec)
    source = "demo" if source_kind == DEMO_POOL else _paths(files)
    if source_kind == UPLOAD and not source:
        raise DfkdError("Upload some images (or a .zip of images) first, or choose the demo pool.")
    n = field(how_many, "how many", whole=True, low=1)
    cfg = _config(steps, batch_size, oh, adc, bn, ms, feature_integration, cfs, g_ch, seed)
    out, names, rows = fresh_gan_folder(), teacher.class_names, []
    freq = samples = None
    stop = cancelling.start(request, TRAIN)
    try:
        with line.HEAVY.place(request, "a GAN training") as ticket:
            for place in ticket.wait(stop):
                yield place, gr.skip(), gr.skip(), gr.skip(), gr.skip()
            t0 = time.time()
            for item in stream(hidfd_job, teacher, source, n if mode == IN_TOTAL else None,
                               n if mode == PER_CLASS else None, cfg.seed, cfg, out, stop=stop):
                if item[0] == "collected":
                    freq = views.frequencies(item[1])
                    msg = f"Collected **{int(item[1]['teacher_count'].sum())}** real images; training the GAN ..."
                    yield msg, gr.update(value=freq, visible=True), gr.skip(), gr.skip(), gr.skip()
                elif item[0] == "log":
                    rows.append(r := item[1])
                    msg = (f"Step **{r['step']}/{cfg.steps}**: teacher target rate {r['teacher_acc']:.2f}, "
                           f"{r['step'] / max(time.time() - t0, 1e-9):.2f} steps/s")
                    yield msg, gr.skip(), gr.update(value=views.loss_figure(rows), visible=True), gr.skip(), gr.skip()
                elif item[0] == "samples":
                    samples = views.class_grid(item[2], names, item[1])
                    yield gr.skip(), gr.skip(), gr.skip(), samples, gr.skip()
                elif item[1][0].finished:
                    run, collected = item[1]
                    msg = (f"Done after **{run.step}** steps ({time.time() - t0:.0f} s). Send samples to a sample set "
                           "below.")
                    state = {"generator": run.ema, "spec": teacher_spec, "real": collected, "run_dir": str(out),
                             "steps": run.step}
                    yield msg, freq, gr.update(value=views.loss_figure(rows), visible=True), samples, state
                else:
                    raise Cancelled(f"step {item[1][0].step}")
    except line.LeftTheLine:
        yield "**Cancelled while waiting in line**: nothing ran.", gr.skip(), gr.skip(), gr.skip(), None
    except Cancelled as e:  # a cancelled GAN is never the one Send uses
        yield f"**Cancelled at {e or 'the start'}**; nothing to send: train again.", freq, gr.skip(), gr.skip(), None
    finally:
        cancelling.finish(request, TRAIN, stop)


@shows_user_errors
def send_ui(trained, name, count, with_real, request: gr.Request = None):
    """The engine adds the samples chunk by chunk (bounded memory); Cancel stops between chunks
    and the message says how many were added."""
    if not trained:
        raise DfkdError("Train the GAN first.")
    count = field(count, "samples", whole=True, low=1, high=MAX_SAMPLES)
    teacher, stop = session_teacher(trained["spec"]), cancelling.start(request, SEND)
    try:
        with line.turn(line.HEAVY, request, "a sample export", stop):
            out = send_samples(trained["generator"], teacher, name, count, trained["run_dir"], trained["steps"],
                               trained["real"] if with_real else None, should_stop=stop.is_set)
    except line.LeftTheLine:
        return "**Cancelled while waiting in line**: nothing was added."
    finally:
        cancelling.finish(request, SEND, stop)
    if out["cancelled"]:
        return (f"**Cancelled**: {out['sent']} of {count} samples were added to sample set `{name}`; "
                "sending again with the same name adds the rest.")
    made = (f"teacher target rate {out['target_rate']:.2f}" if out["made"] else
            "the set already held them all")
    msg = f"Added {out['sent']} samples to sample set `{name}` ({out['set_size']} in the set); {made}."
    if out["real_set"]:
        msg += (f" The {out['real_count']} real images are in sample set `{Path(out['real_set']).name}` (for data "
                "inflation).")
    return msg


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, TRAIN, SEND):
        return "Cancelling: stopping after the current step (or leaving the line) ..."
    return "Nothing of yours is running."


def _gan_controls() -> list:
    with gr.Accordion("Losses and model", open=False):
        return [slider(GANConfig, "oh", "Teacher CE weight (oh)", 0.1, shown=(0, 10)),
                slider(GANConfig, "adc", "ADC classifier weight", 0.1, shown=(0, 2)),
                slider(GANConfig, "bn", "BN-statistics weight (bn)", 0.01, shown=(0, 1)),
                slider(GANConfig, "ms", "Mode-seeking weight (diversity)", 0.1, shown=(0, 5)),
                checkbox(GANConfig, "feature_integration", "Feature integration (teacher features in D)"),
                checkbox(GANConfig, "cfs", "Category frequency smoothing"),
                slider(GANConfig, "g_ch", "Generator width", 4, shown=(4, 64)),
                number(GANConfig, "seed", "Seed", precision=0)]


def build(teacher_spec: gr.State) -> None:
    trained = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            source_kind = gr.Radio([DEMO_POOL, UPLOAD], value=DEMO_POOL, label="A few real images",
                                   info="HiDFD's few real images, labelled by the teacher")
            files = gr.File(file_count="multiple", file_types=IMAGE_TYPES, label="Images, or a .zip of images",
                            visible=False)
            with gr.Row():
                how_many = checked(gr.Number(value=60, precision=0, minimum=1, label="How many",
                                             elem_id="hidfd-how-many", info="Real images to collect"))
                mode = gr.Radio([IN_TOTAL, PER_CLASS], value=IN_TOTAL, label="Counted",
                                info="In all, or per class the teacher sees")
            steps = slider(GANConfig, "steps", "GAN steps", 1, shown=(2, 3000), value=300, elem_id="hidfd-steps",
                           extra="300 take about 3 min on a CPU")
            batch_size = slider(GANConfig, "batch_size", "Batch size", 4, shown=(4, 128))
            oh, adc, bn, ms, feature_integration, cfs, g_ch, seed = _gan_controls()
            with gr.Row():
                train = gr.Button("Train GAN", variant="primary", elem_id="hidfd-train")
                cancel = gr.Button("Cancel", variant="stop", elem_id="hidfd-cancel")
        with gr.Column(scale=2):
            status = gr.Markdown(elem_id="hidfd-status")
            freq = gr.Dataframe(label="The real images per teacher-predicted class (mean p: the teacher's mean "
                                      "confidence; true: how many truly are that class)", interactive=False,
                                visible=False, wrap=True,  # shown once images are collected
                                column_widths=["35%", "22%", "25%", "18%"],  # headers unbroken on a phone
                                elem_id="hidfd-freq")
            curves = gr.Plot(label="Losses", visible=False)
            samples = gr.HTML("<p>The generator's samples appear here while it trains, one row per class.</p>",
                              css_template=views.GRID_CSS, js_on_load=None, elem_id="hidfd-grid")
            with gr.Row():
                set_name = gr.Textbox(value="hidfd-samples", label="Sample set", info="A plain name")
                count = checked(gr.Number(value=500, precision=0, minimum=1, maximum=MAX_SAMPLES, label="Samples",
                                          info="Spread evenly over the classes"))
                with_real = gr.Checkbox(value=True, label=f"Also save the real images (as <set>{REAL_SUFFIX})",
                                        info="For data inflation: the student sees them too")
            send = gr.Button("Send to sample set", elem_id="hidfd-send")
            sent = gr.Markdown(elem_id="hidfd-sent")

    source_kind.change(lambda k: gr.update(visible=k == UPLOAD), source_kind, files, api_visibility="private",
                       queue=False)
    clicked = cancelling.armed(train.click, TRAIN)
    on(clicked, train_ui, [teacher_spec, source_kind, files, how_many, mode, steps, batch_size, oh, adc, bn,
                           ms, feature_integration, cfs, g_ch, seed],
       [status, freq, curves, samples, trained], status, api_name="hidfd_train",
       concurrency_id=line.HEAVY_POOL, concurrency_limit=line.POOL_SIZE)
    phone.scroll_to_result(train, "hidfd-status")
    # not cancels=[...]: the job must end itself, so the tab can say where it stopped
    cancel.click(cancel_ui, None, status, api_name="hidfd_cancel", concurrency_limit=None, queue=False)
    clicked = cancelling.armed(send.click, SEND)
    on(clicked, send_ui, [trained, set_name, count, with_real], sent, sent, api_name="hidfd_send",
       concurrency_id=line.HEAVY_POOL, concurrency_limit=line.POOL_SIZE)
