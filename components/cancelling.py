"""Cancel buttons that stop the job itself. Gradio's `cancels=` only stops consuming the
event's generator: a job running in a worker thread (training, exporting) goes on to the
end. So each long job registers a threading.Event under (browser session, job name), the
engine polls it through should_stop (a job waiting in line polls it too: components/line.py),
and the tab's Cancel button sets it. A session may have several jobs of one name at once (a
second one refused by the line registers and leaves again): Cancel stops them all, and one
ending never unregisters another.

A job's function registers only once Gradio's queue hands it a worker, and after it has
loaded its teacher: a Cancel pressed before then would find nothing to stop. So the button
that starts a job first arms its event, unqueued, at the click (`armed`), and the job adopts
the armed event when it starts."""

import threading

import gradio as gr

_running: dict[tuple[str, str], list[threading.Event]] = {}
_armed: dict[tuple[str, str], threading.Event] = {}  # the newest click's, until its job starts
_lock = threading.Lock()


def _key(request, job: str) -> tuple[str, str]:
    return (getattr(request, "session_hash", None) or "", job)


def armed(listener, job: str):
    """`listener` (e.g. button.click) arming `job`'s stop event at the click; returns the
    `.then` to attach the job to. (A newer click replaces an armed event whose job never
    started, e.g. one that failed loading its teacher.)"""
    def arm(request: gr.Request):
        with _lock:
            _armed[_key(request, job)] = threading.Event()
    return listener(arm, None, None, queue=False, api_visibility="private", show_progress="hidden").then


def start(request, job: str) -> threading.Event:
    """The stop event armed by this session's click, or a fresh one, registered for `job`."""
    with _lock:
        event = _armed.pop(_key(request, job), None) or threading.Event()
        _running.setdefault(_key(request, job), []).append(event)
    return event


def finish(request, job: str, event: threading.Event) -> None:
    """Forget the event once its job has ended."""
    with _lock:
        events = _running.get(_key(request, job), [])
        if event in events:
            events.remove(event)
        if not events:
            _running.pop(_key(request, job), None)


def cancel(request, *jobs: str) -> bool:
    """Ask this session's running `jobs` to stop; True if one was running."""
    with _lock:
        events = [e for job in jobs for e in _running.get(_key(request, job), [])]
        events += [_armed[_key(request, job)] for job in jobs if _key(request, job) in _armed]
    for event in events:
        event.set()
    return bool(events)
