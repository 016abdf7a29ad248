"""The Filter tab's embedding scatter as plain SVG in a gr.HTML: a click on a point selects
it (Gradio's plots have no point-click event), hovering shows its scores and thumbnail, and
a recolour replaces the markup in place (no WebGL context per update)."""

import html

import numpy as np
import pandas as pd

WIDTH, HEIGHT, PAD, RADIUS = 800, 520, 16, 6
MAX_POINTS = 5000  # more would make the page slow; the rest are named in the title
CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf"]
KEPT, DROPPED = "#2a9d8f", "#e63946"
VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]

# delegated listeners survive every re-render of the markup; a hover asks the server for the
# point's thumbnail once and keeps it
JS = """
const cache = {};
const tip = () => element.querySelector('.tip');
let mode = 'inspect', drag = null, dragEnd = 0;
const applyMode = () => {
  element.querySelector('.scatter')?.classList.toggle('selecting', mode === 'select');
  element.querySelector('.mode')?.setAttribute('aria-pressed', String(mode === 'select'));
};
watch('value', applyMode);
element.addEventListener('click', (e) => {
  if (e.target.closest('.mode')) { mode = mode === 'select' ? 'inspect' : 'select'; applyMode(); return; }
  if (performance.now() - dragEnd < 400) return;  // the end of a drag is no click
  const p = e.target.closest('[data-id]');
  if (!p) return;
  element.querySelectorAll('.selected').forEach((q) => q.classList.remove('selected'));
  p.classList.add('selected');
  trigger('click', {sample_id: p.dataset.id});
});
// box selection: a mouse drag from an empty spot, or any drag in "select area" mode (touch)
const inSvg = (svg, e) => new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
element.addEventListener('pointerdown', (e) => {
  const svg = e.target.closest('svg[data-set]');
  if (!svg || e.button !== 0) return;
  if (mode !== 'select' && (e.pointerType !== 'mouse' || e.target.closest('[data-id]'))) return;
  const band = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  band.setAttribute('class', 'band');
  svg.appendChild(band);
  drag = {svg, band, start: inSvg(svg, e), moved: false};
  svg.setPointerCapture(e.pointerId);
  e.preventDefault();
});
element.addEventListener('pointermove', (e) => {
  if (!drag) return;
  const p = inSvg(drag.svg, e), s = drag.start, w = Math.abs(p.x - s.x), h = Math.abs(p.y - s.y);
  drag.band.setAttribute('x', Math.min(s.x, p.x)); drag.band.setAttribute('y', Math.min(s.y, p.y));
  drag.band.setAttribute('width', w); drag.band.setAttribute('height', h);
  if (w + h > 6) drag.moved = true;
});
const endDrag = (e) => {
  if (!drag) return;
  const {svg, band, moved} = drag;
  drag = null;
  const r = band.getBBox();
  band.remove();
  if (!moved || e.type === 'pointercancel') return;
  dragEnd = performance.now();
  const ids = new Set();
  svg.querySelectorAll('[data-id]').forEach((q) => {
    const b = q.getBBox(), x = b.x + b.width / 2, y = b.y + b.height / 2;
    const inside = x >= r.x && x <= r.x + r.width && y >= r.y && y <= r.y + r.height;
    q.classList.toggle('picked', inside);
    if (inside) ids.add(q.dataset.id);
  });
  svg.classList.toggle('has-picks', ids.size > 0);
  element.querySelector('.picked-count').textContent = ids.size + ' selected';
  trigger('select', {sample_ids: [...ids]});
};
element.addEventListener('pointerup', endDrag);
element.addEventListener('pointercancel', endDrag);
element.addEventListener('mouseover', (e) => {
  const p = e.target.closest('[data-id]'), t = tip();
  if (!p || !t || drag) return;
  const box = element.getBoundingClientRect(), at = p.getBoundingClientRect();
  t.style.left = Math.min(at.left - box.left + 12, box.width - 150) + 'px';
  t.style.top = (at.top - box.top + 12) + 'px';
  t.querySelector('span').textContent = p.dataset.info;
  const img = t.querySelector('img'), key = p.closest('svg').dataset.set + '\\n' + p.dataset.id;
  img.removeAttribute('src');
  t.style.display = 'block';
  const show = (src) => { if (t.style.display === 'block' && src) img.src = src; };
  if (cache[key]) show(cache[key]);
  else server.thumbnail(key).then((src) => { cache[key] = src; show(src); });
});
element.addEventListener('mouseout', (e) => {
  if (e.target.closest('[data-id]') && tip()) tip().style.display = 'none';
});
"""

CSS = """
.scatter { position: relative; }
svg { width: 100%; height: auto; display: block; background: var(--block-background-fill); }
[data-id] { cursor: pointer; stroke: white; stroke-width: 0.8; }
[data-id].selected { stroke: black; stroke-width: 3; }
[data-id].picked { stroke: #1d4ed8; stroke-width: 2.5; }
svg.has-picks [data-id]:not(.picked):not(.selected) { opacity: 0.3; }
.band { fill: rgba(37, 99, 235, 0.12); stroke: #2563eb; stroke-width: 1.5; stroke-dasharray: 5 3; }
.selecting svg { touch-action: none; cursor: crosshair; }
.head { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 12px; }
.mode { font: inherit; font-size: 13px; padding: 6px 12px; min-height: 36px; border-radius: 6px; cursor: pointer;
        border: 1px solid var(--border-color-primary); background: var(--button-secondary-background-fill);
        color: var(--body-text-color); }
.mode[aria-pressed="true"] { background: #2563eb; border-color: #2563eb; color: white; }
.picked-count { font-size: 13px; font-weight: 600; color: #1d4ed8; }
[data-id] { transform-box: fill-box; transform-origin: center; }
@media (max-width: 700px) { [data-id] { scale: 2; } }  /* the plot is narrow: larger points to tap */
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 13px; margin: 4px 0; }
.legend svg { width: 14px; height: 14px; display: inline; vertical-align: middle; background: none; }
.tip { display: none; position: absolute; z-index: 10; background: white; color: black; border: 1px solid #888;
       border-radius: 4px; padding: 4px; font-size: 12px; pointer-events: none; max-width: 150px; }
.tip img { width: 96px; height: 96px; image-rendering: pixelated; display: block; }
.title { font-weight: 600; margin: 2px 0; }
"""


def _marker(shape: str, x: float, y: float, r: float, fill: str, attrs: str = "") -> str:
    if shape == "diamond":
        r = r * 1.3
        return f'<path d="M{x:.1f} {y - r:.1f}L{x + r:.1f} {y:.1f}L{x:.1f} {y + r:.1f}L{x - r:.1f} {y:.1f}Z" ' \
               f'fill="{fill}"{attrs}/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}"{attrs}/>'


def _legend_item(shape: str, fill: str, text: str) -> str:
    return f'<span><svg viewBox="0 0 14 14">{_marker(shape, 7, 7, 5, fill)}</svg> {html.escape(text)}</span>'


def _colours(scores: pd.DataFrame, colour_by: str) -> tuple[list[str], list[str]]:
    """A colour per point and the legend's colour entries."""
    if colour_by == "confidence":
        steps = np.clip((scores["teacher_prob"].fillna(0).to_numpy() * (len(VIRIDIS) - 1)).round(), 0,
                        len(VIRIDIS) - 1).astype(int)
        legend = [_legend_item("circle", c, f"p {i / (len(VIRIDIS) - 1):.2f}") for i, c in enumerate(VIRIDIS)]
        return [VIRIDIS[s] for s in steps], legend
    if colour_by == "kept / dropped":
        kept = scores["kept"].to_numpy(bool)
        legend = [_legend_item("circle", KEPT, f"kept ({kept.sum()})"),
                  _legend_item("circle", DROPPED, f"dropped ({(~kept).sum()})")]
        return [KEPT if k else DROPPED for k in kept], legend
    order = scores.drop_duplicates("target").sort_values("target")
    colour_of = {t: CLASS_COLOURS[i % len(CLASS_COLOURS)] for i, t in enumerate(order["target"])}
    legend = [_legend_item("circle", colour_of[t], n) for t, n in zip(order["target"], order["class_name"])]
    return [colour_of[t] for t in scores["target"]], legend


def scatter_html(scores: pd.DataFrame, xy: np.ndarray, colour_by: str, method: str, set_label: str,
                 selected: str | None = None, picked=()) -> str:
    """The scatter's markup: title, the "select area" toggle and the count of the points
    picked by a box, legend (colours, and ◆ source / ● variation), points."""
    shown = np.arange(len(scores))
    if len(shown) > MAX_POINTS:
        shown = np.linspace(0, len(scores) - 1, MAX_POINTS).astype(int)
    lo, hi = xy.min(0), xy.max(0)
    span = np.where(hi - lo > 0, hi - lo, 1)
    px = PAD + (xy[:, 0] - lo[0]) / span[0] * (WIDTH - 2 * PAD)
    py = HEIGHT - PAD - (xy[:, 1] - lo[1]) / span[1] * (HEIGHT - 2 * PAD)
    colours, legend = _colours(scores, colour_by)
    if selected is not None:  # drawn last, so on top of its neighbours
        shown = np.concatenate([shown[scores["id"].to_numpy()[shown] != selected],
                                shown[scores["id"].to_numpy()[shown] == selected]])
    picked = set(picked)
    cols = {c: scores[c].to_numpy() for c in ("id", "class_name", "cosine", "teacher_prob", "kept", "variation")}
    points = []
    for i in shown:
        sid = str(cols["id"][i])
        info = (f"{sid} · {cols['class_name'][i]} · cos {cols['cosine'][i]:.3f} · p {cols['teacher_prob'][i]:.3f} · "
                f"{'kept' if cols['kept'][i] else 'dropped'}")
        classes = " ".join(c for c, on in (("selected", sid == selected), ("picked", sid in picked)) if on)
        cls = f' class="{classes}"' if classes else ""
        attrs = f' data-id="{html.escape(sid)}" data-info="{html.escape(info)}"{cls}'
        shape = "circle" if cols["variation"][i] > 0 else "diamond"
        points.append(_marker(shape, px[i], py[i], RADIUS, colours[i], attrs))
    legend += [_legend_item("diamond", "#555", "source"), _legend_item("circle", "#555", "variation")]
    note = f" ({len(shown)} of {len(scores)} shown, evenly spread)" if len(shown) < len(scores) else ""
    thresholds = f" at ω = {scores.attrs['omega']:.2f}, τ = {scores.attrs['tau']:.2f}" if "omega" in scores.attrs else ""
    count = f"{len(picked)} selected" if picked else ""
    return (f'<div class="scatter"><div class="title">{method.upper()} of {len(scores)} samples{note}{thresholds}: '
            'click a point to inspect it, drag a box to select several</div>'
            '<div class="head"><button type="button" class="mode" aria-pressed="false">▭ Select area</button>'
            f'<span class="picked-count">{count}</span><div class="legend">{"".join(legend)}</div></div>'
            f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" data-set="{html.escape(set_label)}" role="img" '
            f'class="{"has-picks" if picked else ""}" aria-label="embedding scatter">{"".join(points)}</svg>'
            '<div class="tip"><img alt=""><span></span></div></div>')
