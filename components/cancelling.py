"""Cancel buttons that stop the job itself. Gradio's `cancels=` only stops consuming the
event's generator: a job running in a worker thread (training, exporting) goes on to the
end. So each long job registers a threading.Event under (browser session, job name), the
engine polls it through should_stop, and the tab's Cancel button sets it."""

import threading

_running: dict[tuple[str, str], threading.Event] = {}
_lock = threading.Lock()


def _key(request, job: str) -> tuple[str, str]:
    return (getattr(request, "session_hash", None) or "", job)


def start(request, job: str) -> threading.Event:
    """A fresh stop event for this session's `job` (replacing a finished one's)."""
    event = threading.Event()
    with _lock:
        _running[_key(request, job)] = event
    return event


def finish(request, job: str, event: threading.Event) -> None:
    """Forget the event once its job has ended (unless a newer job took its place)."""
    with _lock:
        if _running.get(_key(request, job)) is event:
            del _running[_key(request, job)]


def cancel(request, *jobs: str) -> bool:
    """Ask this session's running `jobs` to stop; True if one was running."""
    with _lock:
        events = [e for e in (_running.get(_key(request, job)) for job in jobs) if e is not None]
    for event in events:
        event.set()
    return bool(events)
