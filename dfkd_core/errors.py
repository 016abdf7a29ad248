"""One exception type for problems the user can fix (bad file, wrong flag, missing data).

The CLI and the app print its message as-is; anything else is a bug and keeps its traceback.
"""


class DfkdError(Exception):
    """A user-facing error: the message says what was wrong and what is expected."""


class Cancelled(Exception):
    """A job stopped because its should_stop() turned true: nothing it would have finished is
    written as finished (a run resumes where it stopped)."""
