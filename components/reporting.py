"""User mistakes shown where they happened. A gr.Error pop-up is global: it follows the
user to every tab. So each action is wired with `on(...)`, naming the status line of its
tab: a mistake is still raised (API and MCP clients get the message and a failed call),
but without a pop-up, and the page writes it into that status line instead. No traceback
reaches the server log for it."""

import functools
import inspect
import threading
from collections import OrderedDict

import gradio as gr
from gradio.context import LocalContext

from dfkd_core import DfkdError

from .common import user_error
from .fields import Refused

PREFIX = "⚠ "
MAX_PENDING = 512  # a client that never asks for its message (an API client) cannot grow this
_pending: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()

# the red "Error" badge Gradio lays over a failed event's outputs: the status line says it
HIDE_ERROR_BADGE = "<style>[data-testid='status-tracker']:has(> .error) {display: none !important}</style>"


def _quiet(error: Exception) -> gr.Error:
    """The same message as a gr.Error with no pop-up; kept for this session's status line."""
    message = error.message if isinstance(error, gr.Error) else user_error(error).message
    session = getattr(LocalContext.request.get(None), "session_hash", None)
    if session:
        with _lock:
            _pending[session] = message
            _pending.move_to_end(session)
            while len(_pending) > MAX_PENDING:
                _pending.popitem(last=False)
    return gr.Error(message, visible=False, print_exception=False)


def _refuse_bad_fields(args, kwargs):
    """A field whose check failed (fields.Refused) stops the action before fn runs."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, Refused):
            raise value


def reported(fn):
    """fn (plain or generator) whose user mistakes (DfkdError, gr.Error), its fields' refused
    values included, become quiet errors."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                _refuse_bad_fields(args, kwargs)
                yield from fn(*args, **kwargs)
            except (DfkdError, gr.Error) as e:
                raise _quiet(e) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            _refuse_bad_fields(args, kwargs)
            return fn(*args, **kwargs)
        except (DfkdError, gr.Error) as e:
            raise _quiet(e) from None
    return wrapper


def shown(request: gr.Request = None):
    """The failed action's message for the status line (nothing when there is none)."""
    with _lock:
        message = _pending.pop(getattr(request, "session_hash", None) or "", None)
    return PREFIX + message if message else gr.skip()


def on(listener, fn, inputs, outputs, status, **kwargs):
    """listener(fn, inputs, outputs, **kwargs) (e.g. button.click), with fn's user mistakes
    written into `status` (a gr.Markdown or gr.HTML of the same tab, best one of `outputs`,
    so that the next success replaces the message). Returns the event."""
    event = listener(reported(fn), inputs, outputs, **kwargs)
    event.failure(shown, None, status, api_visibility="private", concurrency_limit=None, show_progress="hidden")
    return event
