"""DFKD Studio: the Gradio app (also the Hugging Face Spaces entry point).

    python app.py               # http://127.0.0.1:7860
    DFKD_MCP=1 python app.py    # also an MCP server: generate samples, score a set, distil
"""

import os

import gradio as gr

from components import (
    distill_tab,
    examples,
    filter_tab,
    hidfd_tab,
    how_it_works,
    line,
    mcp_tools,
    plot_resize,
    reporting,
    samples_tab,
    teacher_tab,
    variations_tab,
    warming,
)
from components.set_picker import keep_listed

TITLE = "DFKD Studio"
INTRO = "Train a small classifier from a big one, with no training data."
# Work runs in two pools (components/line.py): cheap previews never wait behind a visitor's
# GAN or distillation. Everything else (load, list, recolour, cancel) has no limit at all.
POOLS = (line.PREVIEW_POOL, line.HEAVY_POOL)


def _wire_path(steps, tabs):
    for tab, button in steps:
        button.click(lambda tab=tab: gr.Tabs(selected=tab), None, tabs, api_visibility="private",
                     concurrency_limit=None, queue=False)


def _wire_examples(loads, controls, tabs):
    outputs = [controls[k] for k in ("classes", "per_class", "strength", "seed", "steps", "eta", "status")] + [tabs]
    for example, button in loads:
        def fill(example=example):
            return (*examples.control_values(example),
                    f"Loaded the settings of “{example['title']}”: press **Generate**.", gr.Tabs(selected="samples"))
        button.click(fill, None, outputs, api_visibility="private", concurrency_limit=None)


def build_app(warm: bool = False) -> gr.Blocks:
    """The app; with `warm`, the models warm up in the background while the server comes up
    (components/warming.py)."""
    if warm:
        warming.start()
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\n{INTRO}", elem_id="app-title")
        header = gr.Markdown(teacher_tab.header_text(None), elem_id="app-intro")
        gr.HTML(reporting.HIDE_ERROR_BADGE, visible="hidden", padding=False)  # a mistake shows in its tab's status
        gr.HTML("", js_on_load=plot_resize.JS, visible="hidden", padding=False)  # charts follow their block's size
        with gr.Tabs(selected="how", overflow_behavior="wrap") as tabs:
            with gr.Tab("How it works", id="how"):
                path = how_it_works.build()
            with gr.Tab("Teacher", id="teacher"):
                teacher_spec = teacher_tab.build()
            with gr.Tab("Samples", id="samples"):
                controls = samples_tab.build(teacher_spec)
            with gr.Tab("Variations", id="variations") as variations:
                pickers = {variations: variations_tab.build(teacher_spec)}
            with gr.Tab("Filter", id="filter") as filtering:
                pickers[filtering] = filter_tab.build(teacher_spec)
            with gr.Tab("Distill", id="distill") as distilling:
                pickers[distilling] = distill_tab.build(teacher_spec)
            with gr.Tab("HiDFD", id="hidfd"):
                hidfd_tab.build(teacher_spec)
        keep_listed(app, pickers)  # sample-set dropdowns: listed on page load and when their tab opens
        teacher_spec.change(teacher_tab.header_text, teacher_spec, header, api_visibility="private",
                            concurrency_limit=None)
        _wire_path(path["steps"], tabs)
        _wire_examples(path["load_examples"], controls, tabs)
        mcp_tools.register()
    return app


def mcp_requested() -> bool:
    return os.environ.get("DFKD_MCP", "").strip().lower() in ("1", "true", "yes")


def main():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(warm=True)
    app.queue(default_concurrency_limit=2)
    app.launch(theme=gr.themes.Soft(), server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
               server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), mcp_server=mcp_requested())


if __name__ == "__main__":
    main()
