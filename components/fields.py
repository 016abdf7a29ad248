"""Number fields that check what they receive. Gradio passes a value sent through the API
(a string, None, NaN) to its own comparisons and answers with a generic error; a checked
field refuses it with a message naming the field and what it expects, shown in the status
line of the action's tab. (The check wraps the instance's preprocess: a component subclass would make Gradio
write a .pyi stub beside this file.)"""

import gradio as gr

from dfkd_core import DfkdError

from .common import field


class Refused(DfkdError):
    """A field's value that failed its check, handed to the handler instead of raised here:
    raised in preprocess it would be a global pop-up (no tab's status line is known there);
    reporting.reported raises it inside the handler's event, so it shows in its tab."""


def checked(component, optional: bool = False):
    """A gr.Number or gr.Slider whose values must be finite numbers within its minimum and
    maximum (None only when `optional`); returns the component. A refused value reaches the
    handler as a Refused (actions wired with reporting.on show it in their tab)."""
    def preprocess(payload):
        if payload is None and optional:
            return None
        label = component.label or "this number"
        if payload is None:
            return Refused(f"{label}: enter a number.")
        try:
            value = field(payload, label, low=component.minimum, high=component.maximum)
        except DfkdError as e:
            return Refused(str(e))
        return gr.Number.round_to_precision(value, getattr(component, "precision", None))

    component.preprocess = preprocess
    return component
