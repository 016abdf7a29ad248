"""Filter tab: several samples at once. A box dragged over the scatter (scatter_svg.py)
selects its points; the tab counts them, shows them in its gallery, and keeps or drops them
by hand: those samples then ignore ω and τ, in the scatter, the counts and the exported set."""

import gradio as gr
import pandas as pd

from dfkd_core import DfkdError

from . import filter_views as views
from .reporting import on
from .scatter_svg import MAX_POINTS

NOTHING = "Nothing selected: drag a box over the scatter (on a phone, tap **▭ Select area** first)."


def with_hand_flags(scores: pd.DataFrame, by_hand: dict) -> pd.DataFrame:
    """The scores with the kept flag of the samples in by_hand ({id: kept}) set by hand."""
    if not by_hand:
        return scores
    out = scores.copy()
    hand = out["id"].map(by_hand)
    out["kept"] = hand.where(hand.notna(), out["kept"]).astype(bool)
    return out


def selection_text(state) -> str:
    picked = state.get("picked", [])
    if not picked:
        return NOTHING
    kept = int(state["scores"].set_index("id").loc[picked, "kept"].sum())
    return (f"**{len(picked)} selected**: {kept} kept, {len(picked) - kept} dropped. They are in the gallery "
            "below; keep or drop them whatever ω and τ say.")


def area_ui(state, evt: gr.EventData):
    """A box dragged over the scatter: its points become the selection (ids from the page are
    checked against the set; at most as many as the scatter draws)."""
    if not state:
        raise DfkdError("Compute the scores of a sample set first.")
    ids = getattr(evt, "sample_ids", None)
    known = set(state["scores"]["id"])
    picked = list(dict.fromkeys(i for i in (ids if isinstance(ids, list) else [])[:MAX_POINTS]
                                if isinstance(i, str) and i in known))
    state = {**state, "picked": picked}
    items, shown = views.gallery(state, "selected")
    return ({**state, "shown": shown}, selection_text(state), gr.update(value="selected"), items,
            gr.update(interactive=bool(picked)), gr.update(interactive=bool(picked)))


def hand_ui(state, colour_by, keep: bool):
    """Keep (or drop) the selected samples by hand."""
    if not state or not state.get("picked"):
        raise DfkdError("Select samples first: drag a box over the scatter.")
    by_hand = {**state.get("by_hand", {}), **{i: keep for i in state["picked"]}}
    state = {**state, "by_hand": by_hand, "scores": with_hand_flags(state["scores"], by_hand)}
    return state, views.plot(state, colour_by), views.summary(state), selection_text(state)


def clear_ui(state, colour_by):
    if not state:
        return gr.skip(), gr.skip(), NOTHING, gr.skip(), gr.skip()
    state = {**state, "picked": []}
    return state, views.plot(state, colour_by), NOTHING, gr.update(interactive=False), gr.update(interactive=False)


def build():
    """The selection's line and buttons (under the scatter); returns them by name."""
    with gr.Column(visible=False, variant="panel") as row:
        text = gr.Markdown(NOTHING, elem_id="filter-selection")
        with gr.Row():
            keep = gr.Button("Keep selected", size="sm", scale=0, min_width=100, interactive=False,
                             elem_id="filter-keep-selected")
            drop = gr.Button("Drop selected", size="sm", scale=0, min_width=100, interactive=False,
                             elem_id="filter-drop-selected")
            clear = gr.Button("Clear selection", size="sm", scale=0, min_width=100)
    return {"row": row, "text": text, "keep": keep, "drop": drop, "clear": clear}


def wire(parts, plot, state, colour_by, summary, show, gallery, bars):
    """The events: a box selects, Keep/Drop flag the selection by hand (then the bars and the
    gallery follow), Clear forgets it."""
    text = parts["text"]
    on(plot.select, area_ui, state, [state, text, show, gallery, parts["keep"], parts["drop"]], text,
       api_visibility="private", concurrency_limit=None)
    for button, keep in ((parts["keep"], True), (parts["drop"], False)):
        on(button.click, lambda st, c, keep=keep: hand_ui(st, c, keep), [state, colour_by],
           [state, plot, summary, text], text, api_visibility="private", concurrency_limit=None
           ).success(views.lists, [state, show], [state, bars, gallery], api_visibility="private",
                     concurrency_limit=None)
    parts["clear"].click(clear_ui, [state, colour_by], [state, plot, text, parts["keep"], parts["drop"]],
                         api_visibility="private", concurrency_limit=None)
