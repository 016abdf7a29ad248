"""Watch a sample form (the Samples tab's teaching view): for one class and seed, with the
tab's settings, x̂0 at every step unguided and guided from the same noise, streamed while
it forms; then the strips, a chart of the teacher's p(target) and the texture-proof judges'
verdict per step, and a step slider that shows any step large. The engine does the work
(dfkd_core.methods.diffdfkd.trajectory); the slider only re-draws what the state holds."""

import gradio as gr

from dfkd_core.diffusion import load_backbone_cached
from dfkd_core.errors import Cancelled
from dfkd_core.methods.diffdfkd.trajectory import trajectory
from dfkd_core.runtime.streaming import stream
from dfkd_core.store import to_uint8

from . import cancelling, figures, line, phone
from . import trajectory_views as views
from .common import field, session_teacher, shows_user_errors
from .fields import checked
from .gpu import SAMPLING_S, gpu
from .reporting import on
from .samples_config import backbone_source, class_indices, guidance

JOB = "trajectory"  # cancelled by the Samples tab's Cancel button
EMPTY = ("Pick a class and a seed and press **Watch it form**: the same noise is denoised twice, without and with "
         "the teacher's guidance, and you see the predicted clean image x̂0 at every step.")


def _job(backbone, teacher, target, seed, cfg, report, should_stop):
    return trajectory(backbone, teacher, target, seed, cfg, report=report, should_stop=should_stop)


@shows_user_errors
@gpu(SAMPLING_S)
def watch_ui(teacher_spec, klass, seed, strength, bn, steps, window_start, window_end, mode, candidates, every, eta,
             use_cutmix, cutmix_step, cutmix_alpha, backbone_kind, backbone_path, request: gr.Request = None):
    """Stream one sample's trajectory, then show it whole (state, strip, chart, step slider, step view)."""
    teacher = session_teacher(teacher_spec)
    target = class_indices(teacher, [klass])[0]
    seed = field(seed, "seed", whole=True, low=0)
    cfg = guidance(strength, bn, steps, window_start, window_end, mode, candidates, every, eta, False, cutmix_step,
                   cutmix_alpha)
    source, stop = backbone_source(backbone_kind, backbone_path), cancelling.start(request, JOB)
    skip = (gr.skip(),) * 4
    try:
        with line.PREVIEW.place(request, "a trajectory") as ticket:
            for place in ticket.wait(stop):
                yield place, None, *skip
            backbone = load_backbone_cached(source)
            for item in stream(_job, backbone, teacher, target, seed, cfg, stop=stop):
                if item[0] == "step":
                    _, name, step, total, image = item
                    card = figures.card([to_uint8(image[None])[0].squeeze()], [f"{name}: x̂0"],
                                        f"step {step}/{total}", small=True)
                    yield f"{name.capitalize()} pass: step {step} of {total} ...", None, \
                        gr.update(value=figures.grid([card]), visible=True), *skip[:3]
                else:
                    state = {**views.frames_state(item[1]), "names": teacher.class_names}
                    last = len(state["frames"])
                    yield (_summary(state), state, gr.update(value=views.strip_html(state, last), visible=True),
                           gr.update(value=views.chart(state), visible=True),
                           gr.update(maximum=last, value=last, visible=True),
                           gr.update(value=views.step_html(state, last), visible=True))
    except Cancelled as e:
        yield f"**{e}**", None, *skip
    finally:
        cancelling.finish(request, JOB, stop)


def _summary(state: dict) -> str:
    last = state["frames"][-1]
    u, g = last["unguided"], last["guided"]
    text = (f"**{state['class_name']}, seed {state['seed']}.** At the last step the teacher gives "
            f"p = **{u['p_target']:.2f}** unguided and **{g['p_target']:.2f}** guided.")
    if state["judges"]:
        seen = [j for j in state["judges"] if g[j]["agrees"]]
        text += (f" Texture-proof judges that see the class in the guided image: {', '.join(seen) or 'none'}"
                 f" (unguided: {', '.join(j for j in state['judges'] if u[j]['agrees']) or 'none'}).")
    return text


def scrub_ui(state, step):
    """The step slider moved: the strip's marker and the large view follow (no compute)."""
    if not state:
        return gr.skip(), gr.skip()
    return views.strip_html(state, int(step)), views.step_html(state, int(step))


def build(teacher_spec, classes, class_names: list, settings: list, backbone: list) -> None:
    """The panel (inside the Samples tab's results column). classes: the tab's class picks (the
    first is the panel's first class); settings: the tab's GuidanceConfig controls in
    samples_config.guidance's order; backbone: (kind, path)."""
    state = gr.State(None)
    with gr.Accordion("Watch a sample form: x̂0 at every step, unguided and guided", open=True,
                      elem_id="trajectory-panel"):
        with gr.Row():
            klass = gr.Dropdown(class_names, value=(classes.value or class_names)[0], label="Class", scale=2,
                                info="The class the teacher guides towards", elem_id="trajectory-class")
            seed = checked(gr.Number(value=0, precision=0, label="Seed", minimum=0, scale=1,
                                     info="The starting noise of both passes"))
        watch = gr.Button("Watch it form", variant="primary", elem_id="watch-form")
        status = gr.Markdown(EMPTY, elem_id="trajectory-status")
        strip = gr.HTML("", css_template=views.CSS, visible=False, elem_id="trajectory-strip")  # shown with frames
        curve = gr.Plot(label="Teacher's p(target) and texture-proof judges per step", visible=False,
                        elem_id="trajectory-chart")
        step = gr.Slider(1, 25, value=25, step=1, label="Step", visible=False, elem_id="trajectory-step",
                         info="Drag to see x̂0 at any step: noise first, the finished image last")
        view = gr.HTML("", css_template=views.CSS, visible=False, elem_id="trajectory-view")
    clicked = cancelling.armed(watch.click, JOB)
    on(clicked, watch_ui, [teacher_spec, klass, seed, *settings, *backbone],
       [status, state, strip, curve, step, view], status, api_name="watch_trajectory",
       concurrency_id=line.PREVIEW_POOL, concurrency_limit=line.POOL_SIZE)
    phone.scroll_to_result(watch, "trajectory-status")
    step.change(scrub_ui, [state, step], [strip, view], api_visibility="private", queue=False, show_progress="hidden")
    teacher_spec.change(lambda spec: gr.update(choices=session_teacher(spec).class_names,
                                               value=session_teacher(spec).class_names[0]),
                        teacher_spec, klass, api_visibility="private", concurrency_limit=None)
