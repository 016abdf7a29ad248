"""Controls made from the engine's settings declarations: each setting's default, range and
one-line help are declared once, in its dataclass (dfkd_core.settings.setting), and read
here, so the app starts where the CLI starts, its sliders stay inside what the engine
accepts, and every control says what it does (its `info`).

A declared range is often wider than a slider can show (strength up to 100): `shown` narrows
the slider's ends, never widens them past the declaration."""

from dataclasses import MISSING, fields

import gradio as gr

from dfkd_core.settings import declaration

from .fields import checked


def _field(cls, name: str):
    for f in fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


def default(cls, name: str):
    f = _field(cls, name)
    return f.default if f.default is not MISSING else f.default_factory()


def info(cls, name: str, extra: str = "") -> str:
    """The setting's one-line help, capitalised, with `extra` after it."""
    text = declaration(_field(cls, name))["help"]
    if text[:1].isascii():  # a help that starts with a Greek letter (omega, tau) keeps its case
        text = text[:1].upper() + text[1:]
    return f"{text}. {extra}".strip() if extra else text


def bounds(cls, name: str, shown: tuple | None = None) -> tuple:
    """(minimum, maximum) of a slider: the declared range, narrowed to `shown` where given."""
    d = declaration(_field(cls, name))
    low, high = d["low"], d["high"]
    if shown:
        low = shown[0] if low is None else max(low, shown[0])
        high = shown[1] if high is None else min(high, shown[1])
    if low is None or high is None:
        raise ValueError(f"{cls.__name__}.{name} has no declared range: give `shown`")
    return low, high


def slider(cls, name: str, label: str, step, shown: tuple | None = None, extra: str = "", value=None, **kw):
    """A checked gr.Slider for setting `name` of `cls`: its default, its (narrowed) range, its help."""
    low, high = bounds(cls, name, shown)
    value = default(cls, name) if value is None else value
    if not low <= value <= high:  # a default the slider cannot show would be refused at the first click
        raise ValueError(f"slider {label!r}: its value {value} lies outside its range [{low}, {high}]")
    return checked(gr.Slider(low, high, value=value, step=step, label=label, info=info(cls, name, extra), **kw))


def number(cls, name: str, label: str, extra: str = "", value=None, precision=None, **kw):
    """A checked gr.Number; an open end of the range (lr > 0) is left to the engine's check, whose
    message says so (a number box's bounds are inclusive)."""
    d = declaration(_field(cls, name))
    value = default(cls, name) if value is None else value
    return checked(gr.Number(value=value, label=label, info=info(cls, name, extra), precision=precision,
                             minimum=None if d["low_open"] else d["low"],
                             maximum=None if d["high_open"] else d["high"], **kw))


def checkbox(cls, name: str, label: str, extra: str = "", **kw):
    return gr.Checkbox(value=default(cls, name), label=label, info=info(cls, name, extra), **kw)


def radio(cls, name: str, label: str, extra: str = "", **kw):
    return gr.Radio(list(declaration(_field(cls, name))["choices"]), value=default(cls, name), label=label,
                    info=info(cls, name, extra), **kw)
