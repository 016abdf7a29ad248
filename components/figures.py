"""Images as HTML: small PNGs inlined as data URIs and shown large with crisp pixels, each
with its caption UNDER it (gr.Gallery lays captions over the image and cuts them off).
Pure presentation: the tabs pass images and the text to print."""

import base64
import html
import io

import numpy as np
from PIL import Image

CSS = """
.dfkd-grid {display:flex; flex-wrap:wrap; gap:12px; align-items:flex-start}
.dfkd-card {margin:0; padding:6px; border:1px solid var(--border-color-primary); border-radius:8px;
  background:var(--block-background-fill)}
.dfkd-card .imgs {display:flex; gap:6px}
.dfkd-card img {width:min(128px, 40vw); height:auto; image-rendering:pixelated; display:block;
  border-radius:4px; background:#000}
.dfkd-card.small img {width:min(96px, 27vw)}
.dfkd-card figcaption {font-size:0.85em; line-height:1.3; margin-top:4px; max-width:270px}
.dfkd-card .tag {font-size:0.8em; opacity:0.75; text-align:center}
.dfkd-row {display:flex; flex-wrap:wrap; gap:8px; align-items:center; margin-bottom:8px}
.dfkd-row .rowlabel {flex:0 0 112px; font-size:0.85em}
.dfkd-row .dfkd-card {flex:0 0 auto}
@media (max-width: 640px) {.dfkd-row .rowlabel {flex-basis:100%}}
.dfkd-warning {border-left:4px solid #d97706; padding:6px 10px; background:rgba(217,119,6,0.08)}
.dfkd-table {border-collapse:collapse; margin:8px 0; font-size:0.9em; width:auto}
.dfkd-table, .dfkd-table tr, .dfkd-table th, .dfkd-table td {border:none !important}
.dfkd-table th, .dfkd-table td {border-bottom:1px solid var(--border-color-primary) !important;
  padding:4px 14px 4px 0; background:none; text-align:left}
.dfkd-table th {font-weight:600; opacity:0.8}
.dfkd-table td.num, .dfkd-table th.num {text-align:right; font-variant-numeric:tabular-nums}
.dfkd-table tr:last-child td {border-bottom:none}
"""


def data_uri(image) -> str:
    """A uint8 array (H, W[, C]) or PIL image as a PNG data URI (native size: CSS scales it)."""
    img = Image.fromarray(np.asarray(image)) if not isinstance(image, Image.Image) else image
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _img(src: str, alt: str) -> str:
    return f'<img src="{src}" alt="{html.escape(alt)}">'


def card(images: list, tags: list, caption: str, small: bool = False) -> str:
    """One figure: images side by side, a tag under each, the caption under them all."""
    cells = "".join(f'<div>{_img(data_uri(im), t)}<div class="tag">{html.escape(t)}</div></div>'
                    for im, t in zip(images, tags))
    cls = "dfkd-card small" if small else "dfkd-card"
    under = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="{cls}"><div class="imgs">{cells}</div>{under}</figure>'


def grid(cards: list, elem_class: str = "") -> str:
    return f'<div class="dfkd-grid {elem_class}">{"".join(cards)}</div>'


def row(label: str, cards: list) -> str:
    """A labelled row of cards (a sweep's strength, a filmstrip)."""
    return f'<div class="dfkd-row"><div class="rowlabel">{html.escape(label)}</div>{"".join(cards)}</div>'


def note(text: str) -> str:
    return f'<p class="dfkd-note">{html.escape(text)}</p>'
