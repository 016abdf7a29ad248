"""Helpers every tab uses: the session's teacher, small images shown larger, numbers from
the page checked before use, and user mistakes (DfkdError) shown as a clear pop-up."""

import functools
import inspect
import re

import gradio as gr
import numpy as np
from PIL import Image

from dfkd_core import DfkdError
from dfkd_core.paths import TEACHER
from dfkd_core.settings import number
from dfkd_core.teacher.report import load_teacher_cached

from .uploads import SOURCE_PREFIX, uploaded_teacher

PREVIEW_SCALE = 4  # 32 px samples are shown 4x larger
ERROR_SECONDS = 10  # pop-ups close themselves: a stale one must not follow the user to other tabs
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def session_teacher(spec):
    """The teacher the Teacher tab chose (its spec in gr.State), or the demo teacher."""
    spec = spec or {"source": str(TEACHER)}
    if spec["source"].startswith(SOURCE_PREFIX):
        return uploaded_teacher(spec["source"])
    return load_teacher_cached(spec["source"], spec.get("arch"), spec.get("num_classes"))


def enlarged(image, scale: int = PREVIEW_SCALE) -> Image.Image:
    """A uint8 array (H, W[, C]) or PIL image, as RGB, `scale` times larger with crisp pixels."""
    img = (Image.fromarray(image) if isinstance(image, np.ndarray) else image).convert("RGB")
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)


def user_error(error) -> gr.Error:
    """A pop-up with the message of a user mistake (closing after ERROR_SECONDS); the server
    log gets no traceback for it. The actions wired with reporting.on show it in their tab's
    status line instead (a field's own check too: components/fields.py).
    The pop-up renders HTML and messages quote what the user typed, so tags are defused
    (a bare "<= 200" stays readable, also to API clients)."""
    return gr.Error(_TAG_START.sub("&lt;", str(error)), duration=ERROR_SECONDS, print_exception=False)


def shows_user_errors(fn):
    """A handler (plain or generator) whose DfkdError reaches the page as user_error."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except DfkdError as e:
                raise user_error(e) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DfkdError as e:
            raise user_error(e) from None
    return wrapper


def field(value, label: str, *, whole: bool = False, low=None, high=None):
    """A number from the page or the API (numeric text accepted): finite, whole when asked,
    in [low, high]; anything else is a DfkdError naming the field and what it expects."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass  # refused just below, as given
    value = number(value, label, "Check the settings", integer=whole, low=low, high=high)
    return int(value) if whole else float(value)
