"""What "Watch a sample form" shows, as HTML and a chart: x̂0 at every step as two strips
(unguided above guided, from the same noise), each frame framed by how many texture-proof
judges see the target in it; the teacher's p(target) and the judges' verdict per step as a
chart; one step large, with its numbers and the guidance equation at that step. Pure
presentation of the state trajectory_panel keeps."""

import html

import numpy as np
import plotly.graph_objects as go

from dfkd_core.store import to_uint8

from . import figures

PASSES = (("unguided", "unguided (strength 0)"), ("guided", "guided"))
AGREE = ("none", "one", "all")  # how many texture-proof judges call the frame its target: frame colours

CSS = figures.CSS + """
.traj-strip {display:flex; flex-wrap:wrap; gap:3px; margin:2px 0 10px}
.traj-strip figure {margin:0; width:42px; text-align:center; font-size:10px; line-height:1.2}
.traj-strip img {width:38px; height:38px; image-rendering:pixelated; display:block; margin:auto;
  border:2px solid #9ca3af; border-radius:3px; background:#000}
.traj-strip .one img {border-color:#d97706} .traj-strip .all img {border-color:#16a34a}
.traj-strip .now img {outline:2px solid var(--color-accent); outline-offset:1px}
.traj-key {font-size:0.85em; opacity:0.85}
.traj-key span {display:inline-block; width:10px; height:10px; border:2px solid; margin:0 3px 0 8px;
  vertical-align:middle}
.traj-step .dfkd-card img {width:min(160px, 38vw)}
"""


def frames_state(traj) -> dict:
    """The engine's Trajectory as plain data for a gr.State (images as uint8 arrays)."""
    frames = []
    for f in traj.frames:
        frame = {"step": f["step"], "total": f["total"]}
        for name, _ in PASSES:
            v = f[name]
            frame[name] = {**{k: val for k, val in v.items() if k != "image"},
                           "image": to_uint8(v["image"][None])[0].squeeze()}
        frames.append(frame)
    return {"target": traj.target, "seed": traj.seed, "class_name": traj.class_name, "judges": traj.judges,
            "settings": traj.settings, "frames": frames}


def _agree(verdict: dict, judges) -> str:
    hits = sum(verdict[j]["agrees"] for j in judges)
    return AGREE[0] if not hits else AGREE[2] if hits == len(judges) else AGREE[1]


def strip_html(state: dict, now: int | None = None) -> str:
    """Both passes' x̂0 at every step; each frame's p(target) under it, its border the judges' verdict."""
    judges, rows = state["judges"], []
    for name, title in PASSES:
        cells = []
        for f in state["frames"]:
            v = f[name]
            cls = _agree(v, judges) if judges else ""
            cls += " now" if f["step"] == now else ""
            cells.append(f'<figure class="{cls.strip()}" title="step {f["step"]}: p {v["p_target"]:.2f}">'
                         f'<img src="{figures.data_uri(v["image"])}" alt="{name} x̂0 at step {f["step"]}">'
                         f'{v["p_target"]:.2f}</figure>')
        rows.append(f'<div class="traj-pass"><strong>{html.escape(title)}</strong>: x̂0 at steps 1-'
                    f'{len(state["frames"])}, the teacher\'s p({html.escape(state["class_name"])}) under each'
                    f'<div class="traj-strip">{"".join(cells)}</div></div>')
    key = ('<p class="traj-key">Frame: texture-proof judges that see the class:<span style="border-color:#9ca3af">'
           '</span>none<span style="border-color:#d97706"></span>one<span style="border-color:#16a34a"></span>'
           'all</p>') if judges else figures.note("Texture-proof judges unavailable here (no Fashion-MNIST, or "
                                                   "other classes): the teacher's p only.")
    return "".join(rows) + key


def chart(state: dict) -> go.Figure:
    """p(target) per step for both passes, and the share of texture-proof judges agreeing (dotted)."""
    fig, steps = go.Figure(), [f["step"] for f in state["frames"]]
    colours = {"unguided": "#6b7280", "guided": "#4f46e5"}
    for name, _ in PASSES:
        fig.add_trace(go.Scatter(x=steps, y=[f[name]["p_target"] for f in state["frames"]], mode="lines+markers",
                                 name=f"teacher's p, {name}", line={"color": colours[name]}))
        if state["judges"]:
            share = [float(np.mean([f[name][j]["agrees"] for j in state["judges"]])) for f in state["frames"]]
            fig.add_trace(go.Scatter(x=steps, y=share, mode="lines", name=f"judges agreeing, {name}",
                                     line={"color": colours[name], "dash": "dot", "shape": "hv"}))
    # the top margin clears Gradio's label, which takes two lines on a phone
    fig.update_layout(height=340, margin={"l": 44, "r": 16, "t": 56, "b": 40}, xaxis_title="denoising step",
                      yaxis={"range": [-0.04, 1.04], "tickformat": ".0%"},
                      legend={"orientation": "h", "y": -0.25, "x": 0, "yanchor": "top"})
    return fig


def _guided_at(settings: dict, step: int, total: int) -> bool:
    start, end = (round(v * total) for v in settings["window"])
    return settings["strength"] > 0 and start <= step - 1 < end


def _name(names, c: int) -> str:
    return names[c] if c < len(names) else str(c)


def step_html(state: dict, step: int) -> str:
    """One step large: unguided | guided x̂0, the verdicts as a table, and the equation of that step."""
    frame = next((f for f in state["frames"] if f["step"] == int(step)), state["frames"][-1])
    names, judges = state.get("names") or [], state["judges"]
    caption = f"x̂0 at step {frame['step']} of {frame['total']} · {state['class_name']} · seed {state['seed']}"
    card = figures.card([frame[n]["image"] for n, _ in PASSES], [t for _, t in PASSES], caption)
    rows = [("teacher's p(target)", *(f"{frame[n]['p_target']:.0%}" for n, _ in PASSES)),
            ("teacher's class", *(_name(names, frame[n]["teacher_class"]) for n, _ in PASSES))]
    for j in judges:
        rows.append((f"{j}'s class (texture-proof)", *(("✓ " if frame[n][j]["agrees"] else "✗ ")
                                                       + _name(names, frame[n][j]["class"]) for n, _ in PASSES)))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    table = ('<table class="dfkd-table"><tr><th></th><th>unguided</th><th>guided</th></tr>' + body + "</table>")
    s = state["settings"]
    active = _guided_at(s, frame["step"], frame["total"])
    equation = (f"At this step guidance is <b>{'on' if active else 'off'}</b>. A guided step moves z_t by "
                f"strength·√(1−ᾱ_t) = {s['strength']:g}·√(1−ᾱ_t) along −∇L (normalised per sample), with "
                f"L = oh·CE(T(x̂0), y) + bn·BN(x̂0) = {s['oh']:g}·CE + {s['bn']:g}·BN; √(1−ᾱ_t) shrinks as the "
                "image gets clean, so late steps move it less.")
    return (f'<div class="traj-step">{figures.grid([card])}{table}'
            f'<p class="dfkd-note">{equation}</p></div>')
