"""DFKD Studio: the Gradio app (also the Hugging Face Spaces entry point)."""

import os

import gradio as gr

from components import (distill_tab, filter_tab, hidfd_tab, samples_tab, teacher_tab,
                        variations_tab)

TITLE = "DFKD Studio"
INTRO = ("Data-free knowledge distillation with generative models: start from a trained classifier "
         "(the teacher), synthesise data it recognises, and distil a smaller student, with no training data.")


def build_app() -> gr.Blocks:
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Tabs():
            with gr.Tab("Teacher", id="teacher"):
                teacher_spec = teacher_tab.build()
            with gr.Tab("Samples", id="samples"):
                samples_tab.build(teacher_spec)
            with gr.Tab("Variations", id="variations"):
                variations_tab.build(teacher_spec)
            with gr.Tab("Filter", id="filter"):
                filter_tab.build(teacher_spec)
            with gr.Tab("Distill", id="distill"):
                distill_tab.build(teacher_spec)
            with gr.Tab("HiDFD", id="hidfd"):
                hidfd_tab.build(teacher_spec)
    return app


def main():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app()
    app.queue(default_concurrency_limit=2)
    app.launch(theme=gr.themes.Soft(), server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
               server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))


if __name__ == "__main__":
    main()
