"""The settings grid as HTML: a row per value of one setting, a column per value of another
(or one column), each cell every class's samples (one column per class, one row per seed)
with every judge's agreement under it. On a phone the cells stack, each labelled with its
own settings. Pure presentation."""

import html

import numpy as np

from dfkd_core.store import to_uint8

from . import figures

SHORT = {"teacher": "teacher", "reference_cnn": "CNN", "pixel_knn": "kNN", "pca_linear": "PCA-lin"}
TEXTURE_PROOF = ("pixel_knn", "pca_linear")

CSS = figures.CSS + """
.sweep-grid {display:grid; grid-template-columns:96px repeat(var(--cols), minmax(0, 1fr)); gap:8px;
  align-items:start}
.sweep-grid .head {font-weight:600; font-size:0.85em; align-self:end}
.sweep-grid .rowhead {font-weight:600; font-size:0.85em; align-self:center}
.sweep-grid .cell {border:1px solid var(--border-color-primary); border-radius:6px; padding:4px; min-width:0}
.sweep-grid .cell img {width:100%; max-width:calc(var(--classes) * 40px); image-rendering:pixelated; display:block}
.sweep-grid .figs {font-size:0.78em; line-height:1.35; margin-top:3px}
.sweep-grid .celllabel {display:none; font-weight:600; font-size:0.85em}
.sweep-grid .pending {opacity:0.5; font-size:0.85em; padding:16px 4px}
@media (max-width: 640px) {
  .sweep-grid {grid-template-columns:minmax(0, 1fr)}
  .sweep-grid .head, .sweep-grid .rowhead {display:none}
  .sweep-grid .celllabel {display:block}
}
"""


def mosaic(images, classes: int) -> np.ndarray:
    """A cell's samples (class-major, as sweep_plan orders them) as one image: a column per
    class, a row per seed, 1-px gaps."""
    arr = to_uint8(images)
    per = len(arr) // classes
    h, w = arr.shape[1:3]
    out = np.full((per * (h + 1) - 1, classes * (w + 1) - 1, *arr.shape[3:]), 255, dtype=np.uint8)
    for i, a in enumerate(arr):
        c, k = divmod(i, per)
        out[k * (h + 1):k * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = a
    return out.squeeze()


def figures_html(fig: dict) -> str:
    """Every judge's agreement with the target (texture-proof ones in bold), and the Fréchet distance."""
    parts = []
    for key, value in fig["judges"].items():
        text = f"{html.escape(SHORT.get(key, key))} {100 * value:.0f}%"
        parts.append(f"<b>{text}</b>" if key in TEXTURE_PROOF else text)
    out = " · ".join(parts)
    if fig.get("frechet") is not None:
        out += f"<br>Fréchet {fig['frechet']:.1f} (real {fig['frechet_real_floor']:.1f})"
    if fig.get("unjudged"):
        out += f'<br><span title="{html.escape(fig["unjudged"])}">texture-proof judges unavailable here</span>'
    return out


def _label(name: str, value) -> str:
    return f"{name} {value:g}"


def grid_html(rows: tuple, cols: tuple | None, cells: list, classes: int) -> str:
    """rows/cols: (setting, values); cells: the finished cells so far, row by row (the rest
    shown as pending)."""
    col_values = cols[1] if cols else [None]
    head = ['<div class="head"></div>'] + [f'<div class="head">{html.escape(_label(cols[0], v) if cols else "")}'
                                           '</div>' for v in col_values]
    body, i = [], 0
    for r in rows[1]:
        body.append(f'<div class="rowhead">{html.escape(_label(rows[0], r))}</div>')
        for c in col_values:
            label = _label(rows[0], r) + (f", {_label(cols[0], c)}" if cols else "")
            if i < len(cells):
                cell = cells[i]
                src = figures.data_uri(mosaic(cell["images"], classes))
                body.append(f'<div class="cell"><div class="celllabel">{html.escape(label)}</div>'
                            f'<img src="{src}" alt="{html.escape(label)}">'
                            f'<div class="figs">{figures_html(cell["figures"])}</div></div>')
            else:
                body.append(f'<div class="cell"><div class="celllabel">{html.escape(label)}</div>'
                            '<div class="pending">to come ...</div></div>')
            i += 1
    style = f"--cols: {len(col_values)}; --classes: {classes}"
    return f'<div class="sweep-grid" style="{style}">{"".join(head + body)}</div>'


def key_html(class_names, per_class: int) -> str:
    return figures.note(f"In each cell: a column per class ({', '.join(class_names)}), a row per seed ({per_class}); "
                        "the same seeds in every cell, so cells differ only by their settings. Under it each judge's "
                        "agreement with the target; texture-proof judges in bold.")
