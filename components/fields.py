"""Number fields that check what they receive. Gradio passes a value sent through the API
(a string, None, NaN) to its own comparisons and answers with a generic error; a checked
field refuses it with a message naming the field and what it expects, before any handler
runs. (The check wraps the instance's preprocess: a component subclass would make Gradio
write a .pyi stub beside this file.)"""

import gradio as gr

from dfkd_core import DfkdError

from .common import field, user_error


def checked(component, optional: bool = False):
    """A gr.Number or gr.Slider whose values must be finite numbers within its minimum and
    maximum (None only when `optional`); returns the component."""
    def preprocess(payload):
        if payload is None and optional:
            return None
        label = component.label or "this number"
        if payload is None:
            raise user_error(f"{label}: enter a number.")
        try:
            value = field(payload, label, low=component.minimum, high=component.maximum)
        except DfkdError as e:
            raise user_error(e) from None
        return gr.Number.round_to_precision(value, getattr(component, "precision", None))

    component.preprocess = preprocess
    return component
