"""One exception type for problems the user can fix (bad file, wrong flag, missing data).

The CLI and the app print its message as-is; anything else is a bug and keeps its traceback,
which an API or MCP call logs while its client gets a short account (describe).
"""

import logging
import secrets
import traceback
from pathlib import Path


class DfkdError(Exception):
    """A user-facing error: the message says what was wrong and what is expected."""


class Cancelled(Exception):
    """A job stopped because its should_stop() turned true: nothing it would have finished is
    written as finished (a run resumes where it stopped)."""


LOG = logging.getLogger("dfkd")
ROOT = Path(__file__).resolve().parent.parent  # the folder holding dfkd_core/ and components/


def _where(exc: BaseException) -> str:
    """The innermost frame of the project's own code (the engine's or the app's) the exception
    passed through, as a path from the project's folder: the server's layout is not the client's business."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if Path(f.filename).is_relative_to(ROOT / "dfkd_core")
            or Path(f.filename).is_relative_to(ROOT / "components")]
    if not (ours or frames):
        return "an unknown place"
    f = (ours or frames)[-1]
    path = Path(f.filename).relative_to(ROOT).as_posix() if ours else Path(f.filename).name
    return f"{path}, line {f.lineno} ({f.name})"


def _hint(exc: BaseException) -> str:
    if isinstance(exc, MemoryError) or "out of memory" in str(exc).lower():
        return "The machine ran out of memory: lower the batch size or the number of samples, then retry."
    if isinstance(exc, OSError):
        return "A file could not be read or written: check the paths, their permissions and the free disk space."
    return "Retry once; if it fails again, report it with the reference below."


def describe(exc: BaseException, action: str) -> str:
    """What an API or MCP client is told when `action` ("judging sample set 'x'") raised exc:
    what failed, where, what to try. A DfkdError's message already says what was wrong and what
    is expected, so it is passed on whole; any other exception is a bug or a machine fault,
    whose traceback goes to the log (logger "dfkd") under a reference the message names, and
    the client gets only its kind and place."""
    if isinstance(exc, DfkdError):
        return f"{action} failed: {exc}"
    if isinstance(exc, Cancelled):
        return f"{action} was stopped before it finished; run it again to resume."
    ref = secrets.token_hex(4)
    LOG.error("%s failed (reference %s)", action, ref, exc_info=(type(exc), exc, exc.__traceback__))
    return (f"{action} failed: an unexpected {type(exc).__name__} in {_where(exc)}. {_hint(exc)} "
            f"(The details are in the server's log, reference {ref}.)")
