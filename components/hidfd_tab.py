"""HiDFD tab: a few real images (uploaded, or the demo pool), labelled by the teacher; a
teacher-guided GAN trained on them with live loss curves and a per-class sample grid; its
samples sent to a named sample set for the Filter and Distill tabs."""

import html
import time
import uuid

import gradio as gr
import plotly.graph_objects as go

from dfkd_core import DfkdError
from dfkd_core.errors import Cancelled
from dfkd_core.methods.base import add_to_sample_set
from dfkd_core.methods.hidfd.config import GANConfig
from dfkd_core.methods.hidfd.job import MAX_SAMPLES, balanced_chunks, hidfd_job
from dfkd_core.methods.hidfd.sample import generate, teacher_verdict
from dfkd_core.paths import checked_name, runs_dir
from dfkd_core.runtime.streaming import stream
from dfkd_core.store import to_uint8

from . import cancelling
from .common import enlarged, field, session_teacher, shows_user_errors
from .fields import checked
from .reporting import on
from .sample_grid import data_url

DEMO_POOL, UPLOAD = "Demo pool (Fashion-MNIST, never seen by the teacher)", "Upload images or a .zip"
IN_TOTAL, PER_CLASS = "in total", "per teacher-predicted class"
IMAGE_TYPES = [".zip", ".png", ".jpg", ".jpeg", ".bmp", ".webp"]
CURVES = [("loss_d", "D loss"), ("loss_g", "G loss"), ("teacher_ce", "teacher CE on G(z, y)")]
SCALE = 3
TRAIN, SEND = "hidfd-train", "hidfd-send"  # job names for its Cancel button (components/cancelling.py)


def _paths(files):
    return [f if isinstance(f, str) else f.name for f in (files or [])]


def loss_figure(rows: list) -> go.Figure:
    fig = go.Figure()
    steps = [r["step"] for r in rows]
    for key, name in CURVES:
        fig.add_trace(go.Scatter(x=steps, y=[r[key] for r in rows], mode="lines", name=name))
    fig.add_trace(go.Scatter(x=steps, y=[r["teacher_acc"] for r in rows], mode="lines", name="teacher target rate",
                             yaxis="y2", line={"dash": "dot"}))
    fig.update_layout(height=300, margin={"l": 40, "r": 55, "t": 36, "b": 40}, xaxis_title="step",
                      yaxis={"title": "loss"}, legend={"orientation": "h", "y": -0.3},
                      yaxis2={"title": "target rate", "overlaying": "y", "side": "right", "tickformat": ".0%",
                              # a margin under 0 %, so its tick label clears the step axis's on a phone
                              "range": [-0.06, 1.04]})
    if steps and steps[-1] - steps[0] <= 8:  # a short run: whole steps, not 1.2, 1.4, ...
        fig.update_xaxes(dtick=1)
    return fig


def _frequencies(freq):
    """The collected images per class as a person reads them (counts stay numbers; short
    headers, explained in the table's label, so that it fits a phone)."""
    table = freq.rename(columns={"teacher_count": "images", "mean_confidence": "mean p", "true_count": "true"})
    table = table.drop(columns=["share"])  # the counts say it; four columns fit a phone
    table["mean p"] = ["" if c is None or c != c else f"{100 * c:.1f} %" for c in freq["mean_confidence"]]
    return table


def class_grid(images, names, step=None) -> str:
    """One labelled grid, a row per class (its name as the row label) and a column per sample,
    with no table borders: every class visible, crisp pixels, the images shrinking to the
    page's width (on a phone the name goes above its row)."""
    per = len(images) // len(names)
    rows = []
    for c, name in enumerate(names):
        cells = "".join(f'<img role="cell" src="{data_url(enlarged(a, SCALE))}" alt="{html.escape(name)} sample {i + 1}">'
                        for i, a in enumerate(to_uint8(images[c * per:(c + 1) * per])))
        rows.append(f'<div class="row" role="row"><div class="label" role="rowheader">{html.escape(name)}</div>'
                    f'{cells}</div>')
    caption = f"EMA generator after step {step}: {per} samples per class" if step else f"{per} samples per class"
    return (f'<div class="class-grid" role="table" aria-label="{html.escape(caption)}" style="--per: {per}">'
            f'<div class="caption">{html.escape(caption)}</div>{"".join(rows)}</div>')


GRID_CSS = """
.class-grid { display: flex; flex-direction: column; gap: 4px; }
.class-grid .caption { font-weight: 600; padding: 4px 0; }
.class-grid .row { display: grid; grid-template-columns: 104px repeat(var(--per), minmax(0, 96px)); gap: 4px;
                   align-items: center; }
.class-grid .label { text-align: right; padding-right: 6px; font-size: 0.9em; overflow-wrap: anywhere; }
.class-grid img { width: 100%; aspect-ratio: 1; image-rendering: pixelated; display: block; border-radius: 2px; }
@media (max-width: 640px) {
  .class-grid .row { grid-template-columns: repeat(var(--per), minmax(0, 1fr)); gap: 2px; }
  .class-grid .label { grid-column: 1 / -1; text-align: left; padding: 4px 0 0; }
}
"""


@shows_user_errors
def train_ui(teacher_spec, source_kind, files, how_many, mode, steps, batch_size, oh, adc, bn, ms,
             feature_integration, cfs, g_ch, seed, request: gr.Request = None):
    teacher = session_teacher(teacher_spec)
    source = "demo" if source_kind == DEMO_POOL else _paths(files)
    if source_kind == UPLOAD and not source:
        raise DfkdError("Upload some images (or a .zip of images) first, or choose the demo pool.")
    n, steps, seed = field(how_many, "how many", whole=True, low=1), field(steps, "GAN steps", whole=True), \
        field(seed, "seed", whole=True, low=0)
    cfg = GANConfig.from_dict({"steps": steps, "batch_size": field(batch_size, "batch size", whole=True),
                               "oh": field(oh, "oh"), "adc": field(adc, "adc"), "bn": field(bn, "bn"),
                               "ms": field(ms, "ms"), "feature_integration": bool(feature_integration),
                               "cfs": bool(cfs), "g_ch": field(g_ch, "generator width", whole=True), "seed": seed,
                               "log_every": max(1, steps // 100), "samples_every": max(1, steps // 20)})
    out = runs_dir() / "hidfd-app" / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    names, rows, t0 = teacher.class_names, [], time.time()
    freq = samples = None
    stop = cancelling.start(request, TRAIN)
    try:
        for item in stream(hidfd_job, teacher, source, n if mode == IN_TOTAL else None,
                           n if mode == PER_CLASS else None, seed, cfg, out, stop=stop):
            if item[0] == "collected":
                freq = _frequencies(item[1])
                msg = f"Collected **{int(item[1]['teacher_count'].sum())}** real images; training the GAN ..."
                yield msg, gr.update(value=freq, visible=True), gr.skip(), gr.skip(), gr.skip()
            elif item[0] == "log":
                rows.append(item[1])
                r = item[1]
                msg = (f"Step **{r['step']}/{steps}**: teacher target rate {r['teacher_acc']:.2f}, "
                       f"{r['step'] / max(time.time() - t0, 1e-9):.2f} steps/s")
                yield msg, gr.skip(), gr.update(value=loss_figure(rows), visible=True), gr.skip(), gr.skip()
            elif item[0] == "samples":
                samples = class_grid(item[2], names, item[1])
                yield gr.skip(), gr.skip(), gr.skip(), samples, gr.skip()
            elif item[1][0].finished:
                run, collected = item[1]
                msg = f"Done after **{run.step}** steps ({time.time() - t0:.0f} s). Send samples to a sample set below."
                state = {"generator": run.ema, "spec": teacher_spec, "real": collected, "run_dir": str(out),
                         "steps": run.step}
                yield msg, freq, gr.update(value=loss_figure(rows), visible=True), samples, state
            else:
                raise Cancelled(f"step {item[1][0].step}")
    except Cancelled as e:  # a cancelled GAN is never the one Send uses
        yield f"**Cancelled at {e or 'the start'}**; nothing to send: train again.", freq, gr.skip(), gr.skip(), None
    finally:
        cancelling.finish(request, TRAIN, stop)


@shows_user_errors
def send_ui(trained, name, count, with_real, request: gr.Request = None):
    """Adds the samples chunk by chunk (bounded memory); Cancel stops between chunks and
    says how many were added."""
    if not trained:
        raise DfkdError("Train the GAN first.")
    checked_name(name)
    count = field(count, "samples", whole=True, low=1, high=MAX_SAMPLES)
    teacher = session_teacher(trained["spec"])
    names = teacher.class_names
    settings = {"method": "hidfd", "class_names": names, "gan_run": trained["run_dir"], "steps": trained["steps"]}
    stop, sent, hits = cancelling.start(request, SEND), 0, 0.0
    try:
        for targets, seeds in balanced_chunks(len(names), count):
            if stop.is_set():
                return (f"**Cancelled**: {sent} of {count} samples were added to sample set `{name}`; "
                        "sending again with the same name adds the rest.")
            batch = generate(trained["generator"], teacher, targets, seeds)
            store = add_to_sample_set(name, batch, teacher, settings)
            sent, hits = sent + len(seeds), hits + teacher_verdict(batch)["target_rate"] * len(seeds)
    finally:
        cancelling.finish(request, SEND, stop)
    msg = (f"Added {sent} samples to `{store.root}` ({len(store.manifest())} in the set); teacher "
           f"target rate {hits / sent:.2f}.")
    if with_real:
        real = trained["real"]
        real_store = add_to_sample_set(f"{name}-real"[:64], real.as_batch(), teacher,
                                       {"method": "real", "class_names": names, "source": real.source})
        msg += f" The {len(real.indices)} real images are in `{real_store.root}` (for data inflation)."
    return msg


def cancel_ui(request: gr.Request = None) -> str:
    if cancelling.cancel(request, TRAIN, SEND):
        return "Cancelling: stopping after the current step ..."
    return "Nothing of yours is running."


def build(teacher_spec: gr.State) -> None:
    trained = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1):
            source_kind = gr.Radio([DEMO_POOL, UPLOAD], value=DEMO_POOL, label="A few real images")
            files = gr.File(file_count="multiple", file_types=IMAGE_TYPES, label="Images, or a .zip of images",
                            visible=False)
            with gr.Row():
                how_many = checked(gr.Number(value=60, precision=0, minimum=1, label="How many",
                                           elem_id="hidfd-how-many"))
                mode = gr.Radio([IN_TOTAL, PER_CLASS], value=IN_TOTAL, label="Counted")
            steps = checked(gr.Slider(2, 3000, value=300, step=1, label="GAN steps", elem_id="hidfd-steps"))
            batch_size = checked(gr.Slider(4, 128, value=32, step=4, label="Batch size"))
            with gr.Accordion("Losses and model", open=False):
                oh = checked(gr.Slider(0, 10, value=GANConfig.oh, step=0.1, label="Teacher CE weight (oh)"))
                adc = checked(gr.Slider(0, 2, value=GANConfig.adc, step=0.1, label="ADC classifier weight"))
                bn = checked(gr.Slider(0, 1, value=GANConfig.bn, step=0.01, label="BN-statistics weight (bn)"))
                ms = checked(gr.Slider(0, 5, value=GANConfig.ms, step=0.1, label="Mode-seeking weight (diversity)"))
                feature_integration = gr.Checkbox(value=True, label="Feature integration (teacher features in D)")
                cfs = gr.Checkbox(value=True, label="Category frequency smoothing")
                g_ch = checked(gr.Slider(4, 64, value=GANConfig.g_ch, step=4, label="Generator width"))
                seed = checked(gr.Number(value=0, precision=0, label="Seed"))
            with gr.Row():
                train = gr.Button("Train GAN", variant="primary", elem_id="hidfd-train")
                cancel = gr.Button("Cancel", variant="stop")
        with gr.Column(scale=2):
            status = gr.Markdown(elem_id="hidfd-status")
            freq = gr.Dataframe(label="The real images per teacher-predicted class (mean p: the teacher's mean "
                                      "confidence; true: how many truly are that class)", interactive=False,
                                visible=False, wrap=True,  # shown once images are collected
                                column_widths=["35%", "22%", "25%", "18%"],  # headers unbroken on a phone
                                elem_id="hidfd-freq")
            curves = gr.Plot(label="Losses", visible=False)
            samples = gr.HTML("<p>The generator's samples appear here while it trains, one row per class.</p>",
                              css_template=GRID_CSS, js_on_load=None, elem_id="hidfd-grid")
            with gr.Row():
                set_name = gr.Textbox(value="hidfd-samples", label="Sample set")
                count = checked(gr.Number(value=500, precision=0, minimum=1, maximum=MAX_SAMPLES, label="Samples"))
                with_real = gr.Checkbox(value=True, label="Also save the real images (as <set>-real)")
            send = gr.Button("Send to sample set")
            sent = gr.Markdown()

    source_kind.change(lambda k: gr.update(visible=k == UPLOAD), source_kind, files, api_visibility="private")
    on(train.click, train_ui, [teacher_spec, source_kind, files, how_many, mode, steps, batch_size, oh, adc, bn,
                           ms, feature_integration, cfs, g_ch, seed],
       [status, freq, curves, samples, trained], status, api_name="hidfd_train",
       concurrency_id="compute", concurrency_limit=1)
    # not cancels=[...]: the job must end itself, so the tab can say where it stopped
    cancel.click(cancel_ui, None, status, api_name="hidfd_cancel", concurrency_limit=None)
    on(send.click, send_ui, [trained, set_name, count, with_real], sent, sent, api_name="hidfd_send",
       concurrency_id="compute", concurrency_limit=1)

