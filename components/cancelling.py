"""Cancel buttons that stop the job itself. Gradio's `cancels=` only stops consuming the
event's generator: a job running in a worker thread (training, exporting) goes on to the
end. So each long job registers a threading.Event under (browser session, job name), the
engine polls it through should_stop (a job waiting in line polls it too: components/line.py),
and the tab's Cancel button sets it. A session may have several jobs of one name at once (a
second one refused by the line registers and leaves again): Cancel stops them all, and one
ending never unregisters another."""

import threading

_running: dict[tuple[str, str], list[threading.Event]] = {}
_lock = threading.Lock()


def _key(request, job: str) -> tuple[str, str]:
    return (getattr(request, "session_hash", None) or "", job)


def start(request, job: str) -> threading.Event:
    """A fresh stop event for this session's `job`."""
    event = threading.Event()
    with _lock:
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
    for event in events:
        event.set()
    return bool(events)
