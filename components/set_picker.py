"""The sample-set dropdown of the Variations, Filter and Distill tabs. Its choices are read
from disk when the page loads, when its tab is opened and after its tab creates a set, so
a set made anywhere shows up without a refresh button; a newly made set is preselected."""

import gradio as gr

from dfkd_core.pipeline.runs import newest_sample_set, sample_sets


def listed(current, known):
    """(dropdown update, labels now known): every set on disk; the value becomes the newest
    of the sets not seen before (all of them on a fresh page), else stays as chosen."""
    sets = sample_sets()
    new = {label: folder for label, folder in sets.items() if label not in (known or [])}
    if new or current not in sets:
        current = newest_sample_set(new or sets)
    return gr.update(choices=list(sets), value=current), list(sets)


class SetPicker:
    """A gr.Dropdown of sample sets plus the labels it has listed (per session)."""

    def __init__(self, **kwargs):
        self.dropdown = gr.Dropdown([], label="Sample set", allow_custom_value=True,
                                    info="Sets made in any tab appear here", **kwargs)
        self.known = gr.State([])

    def refresh_on(self, *triggers):
        """List the sets again after each trigger (an event's .then, a tab's .select, app.load)."""
        for trigger in triggers:
            trigger(listed, [self.dropdown, self.known], [self.dropdown, self.known], api_visibility="private",
                    concurrency_limit=None)


def keep_listed(app: gr.Blocks, pickers: dict) -> None:
    """Wire each tab's pickers ({gr.Tab: [SetPicker]}) to the page load and to opening the tab."""
    for tab, tab_pickers in pickers.items():
        for picker in tab_pickers:
            picker.refresh_on(app.load, tab.select)
