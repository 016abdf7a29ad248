"""The "How it works" tab: the data-free KD story, one diagram, what each method does, the
papers, the pre-made examples, a guided path through the other tabs, and a glossary of
every symbol the app shows."""

import html

import gradio as gr

from . import examples, figures, glossary

STORY = """You have a trained classifier, the **teacher**, but not the images it was trained on. A
pre-trained image generator makes images; the teacher's gradient **guides** it towards each
class; **judges** (and a filter) check which samples are worth keeping; a smaller **student**
learns to copy the teacher's answers on them (knowledge distillation). The teacher's own
confidence is easy to fool, so the independent judges matter: the examples show both.
Every tab starts with the demo kit; the Teacher tab takes your own model."""

METHODS = """### The three methods
- **DiffDFKD** (Samples tab): the teacher's gradient steers a diffusion model's denoising towards a
  class; **Latent CutMix** pastes a box of one same-class latent into another mid-trajectory, for
  diversity. Paper: [Data-free Knowledge Distillation with Diffusion Models](https://arxiv.org/abs/2504.00870)
  (Qi et al., 2025).
- **DDA** (Variations and Filter tabs): re-noises each synthetic image part-way and denoises it again,
  making variations of it; a **cosine filter** in the teacher's embedding drops the variations that
  drift too far. Paper: [Towards Effective Data-Free Knowledge Distillation via Diverse Diffusion
  Augmentation](https://arxiv.org/abs/2410.17606) (Li et al., 2024).
- **HiDFD** (HiDFD tab): trains a small GAN, guided by the teacher, from **a few real images** per class,
  then samples as many as the student needs. Paper: [Hybrid Data-Free Knowledge
  Distillation](https://arxiv.org/abs/2412.13525) (Tang et al., AAAI 2025).

### The demo kit's generator, and how the guidance keeps it drawing clothes
The generator is a small **latent diffusion model**, built like Stable Diffusion at 32×32: an
autoencoder squeezes each image into 4×8×8 numbers (the *latent*), and a denoising network learned to
turn noise into such latents, from 10,000 Fashion-MNIST images the teacher never saw. Left alone it
draws clothes of every class. The guidance then asks for a class in two gentle ways:
1. **Candidate starts**: 16 starting noises per sample, each previewed roughly in 4 denoising steps;
   the teacher keeps the one whose preview looks most like the class.
2. **Gentle gradient steps**: during the first 60 % of the steps, the predicted clean image x̂0 is
   decoded, the teacher's gradient nudges it towards the class, and the sampler goes on from the
   nudged x̂0 (no gradient through the denoiser).

Why gentle: a strong gradient paints faint textures that the teacher reads as the class while a
person sees no garment. The sweep (Samples tab) shows it: with one start and strong guidance the
teacher agrees almost always, the texture-proof judges rarely.
"""

# (tab id, step text): the guided path; each step has a button that opens its tab
STEPS = [("teacher", "**Teacher**: the demo teacher is ready; load your own or evaluate it on the test set."),
         ("samples", "**Samples**: generate guided samples beside unguided ones on the same seeds; watch one "
                     "form step by step; compare settings in a grid; add the ones you like to a sample set."),
         ("variations", "**Variations** (DDA): make diffusion variations of a sample set."),
         ("filter", "**Filter**: keep the variations close to their source in the teacher's embedding."),
         ("distill", "**Distill**: train the student on a sample set, watch its test accuracy, compare runs."),
         ("hidfd", "**HiDFD**: the other route: a teacher-guided GAN from a few real images.")]

_BOX = ('<rect x="{x}" y="{y}" width="120" height="56" rx="10" fill="{fill}" stroke="#4b5563"/>'
        '<text x="{cx}" y="{ty}" text-anchor="middle" font-size="14" font-weight="600">{title}</text>'
        '<text x="{cx}" y="{sy}" text-anchor="middle" font-size="11">{sub}</text>')
_PARTS = [("Teacher", "trained classifier", "#e0e7ff"), ("Guided sampler", "diffusion + gradient", "#dcfce7"),
          ("Samples", "synthetic images", "#fef9c3"), ("Judges / filter", "keep the good ones", "#fee2e2"),
          ("Student", "small classifier", "#e0f2fe")]


def _svg(boxes_at, arrows, curve, label_at, view, lines=("the student learns the teacher's answers",)) -> str:
    parts = [_BOX.format(x=x, y=y, cx=x + 60, ty=y + 24, sy=y + 42, fill=fill, title=title, sub=sub)
             for (x, y), (title, sub, fill) in zip(boxes_at, _PARTS)]
    parts += [f'<line x1="{a}" y1="{b}" x2="{c}" y2="{d}" stroke="#4b5563" stroke-width="2" '
              'marker-end="url(#arrow)"/>' for a, b, c, d in arrows]
    parts.append(f'<path d="{curve}" fill="none" stroke="#6366f1" stroke-dasharray="5 4" stroke-width="2" '
                 f'marker-end="url(#arrow)"/><text x="{label_at[0]}" y="{label_at[1]}" text-anchor="middle" '
                 'font-size="11" fill="#4338ca">'
                 + "".join(f'<tspan x="{label_at[0]}" dy="{14 * bool(i)}">{html.escape(line)}</tspan>'
                           for i, line in enumerate(lines)) + "</text>")
    return (f'<svg viewBox="{view}" role="img" aria-label="Teacher, guided sampler, samples, judges and filter, '
            'student" style="width:100%;height:auto;font-family:sans-serif">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#4b5563"/></marker></defs>'
            + "".join(parts) + "</svg>")


def diagram_svg() -> str:
    """teacher -> guided sampler -> samples -> judges/filter -> student as inline SVG: a row on
    wide screens, a column on phones; the dashed line: the teacher also labels what the
    student learns from."""
    wide = _svg([(10 + 150 * i, 10) for i in range(5)], [(132 + 150 * i, 38, 156 + 150 * i, 38) for i in range(4)],
                "M70 66 C 70 104, 670 104, 670 70", (370, 116), "0 0 760 124")
    tall = _svg([(10, 10 + 80 * i) for i in range(5)], [(70, 66 + 80 * i, 70, 86 + 80 * i) for i in range(4)],
                "M130 38 C 300 38, 300 358, 134 358", (192, 196), "0 0 340 400",
                ("the student", "learns the", "teacher's answers"))
    return (f'<div class="diagram wide" style="max-width:760px">{wide}</div>'
            f'<div class="diagram tall" style="max-width:340px;margin:auto">{tall}</div>')


DIAGRAM_CSS = """.diagram.tall {display:none}
@media (max-width: 640px) {.diagram.wide {display:none} .diagram.tall {display:block}}"""


def build() -> dict:
    """The tab's components; returns {"steps": [(tab id, button)], "load_examples":
    [(example, button)]} for app.py to wire to the tabs and the Samples controls."""
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown(STORY, elem_id="how-story")
            gr.HTML(diagram_svg(), css_template=DIAGRAM_CSS, elem_id="how-diagram")
            gr.Markdown("### Guided path")
            steps = []
            for n, (tab, text) in enumerate(STEPS, 1):
                with gr.Row(equal_height=False, elem_id=f"how-path-{n}"):
                    gr.Markdown(f"{n}. {text}")
                    steps.append((tab, gr.Button("Open →", size="sm", scale=0, min_width=90,
                                                 elem_id=f"how-step-{tab}")))
        with gr.Column(scale=1):
            gr.Markdown("### Pre-made examples (no compute)\nEach card: guided | unguided on the same seed, "
                        "with the teacher's p of the class.")
            loads = []
            with gr.Row():  # above the gallery: in the first viewport, not under three examples
                for example in examples.load():
                    loads.append((example, gr.Button(f"Try “{example['title']}”", size="sm",
                                                     elem_classes=["load-example"])))
            # whole, in the page's own scroll (an inner scroll box cut its cards off mid-image)
            gr.HTML(examples.gallery_html(small=True), css_template=figures.CSS, elem_id="example-gallery")
    gr.Markdown(METHODS, elem_id="how-methods")
    with gr.Accordion("Glossary: every symbol and term in the app", open=False, elem_id="how-glossary"):
        gr.HTML(glossary.glossary_html(), css_template=glossary.CSS, elem_id="glossary")
    return {"steps": steps, "load_examples": loads}
