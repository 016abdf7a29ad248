"""Run a long job in a worker thread and iterate over what it reports, so a UI can stream
progress. The job stops at its next check of should_stop when `stop` (a threading.Event,
which a UI's Cancel button may set) is set, or when the iterator is closed early."""

import queue
import threading

_DONE = object()


def stream(job, *args, stop: threading.Event | None = None, **kwargs):
    """job(*args, report=callable, should_stop=callable, **kwargs). Yields each reported
    item, then ("result", return value); re-raises the job's exception (Cancelled, when
    the job honours `stop`)."""
    items: queue.Queue = queue.Queue()
    stop = stop or threading.Event()
    outcome = {}

    def run():
        try:
            outcome["value"] = job(*args, report=items.put, should_stop=stop.is_set, **kwargs)
        except BaseException as e:  # handed to the consumer below
            outcome["error"] = e
        finally:
            items.put(_DONE)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    ended = False
    try:
        while (item := items.get()) is not _DONE:
            yield item
        ended = True
    finally:
        if not ended:  # the consumer went away: the job has nobody to report to
            stop.set()
    if "error" in outcome:
        raise outcome["error"]
    yield ("result", outcome["value"])
