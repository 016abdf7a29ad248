"""Run a long job in a worker thread and iterate over what it reports, so a UI can stream
progress. Closing the iterator (a cancelled Gradio event does) stops the job at its next
check of should_stop."""

import queue
import threading

_DONE = object()


def stream(job, *args, **kwargs):
    """job(*args, report=callable, should_stop=callable, **kwargs). Yields each reported
    item, then ("result", return value); re-raises the job's exception."""
    items: queue.Queue = queue.Queue()
    stop = threading.Event()
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
    try:
        while (item := items.get()) is not _DONE:
            yield item
    finally:
        stop.set()
    if "error" in outcome:
        raise outcome["error"]
    yield ("result", outcome["value"])
