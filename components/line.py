"""Where visitors' jobs wait their turn. Gradio's concurrency_id keeps cheap work (previews,
judges) and heavy work (GAN training, distillation, sweeps) in separate worker pools, so a
Generate never waits behind a distillation; inside each pool a Line lets `slots` jobs run at
once, in the order they came. A job waits inside its own handler, not in Gradio's queue, so
the tab can say where it stands ("2nd in line, about 3 min") and its Cancel button reaches it
there (Gradio's queue hides a waiting job from the handler's Cancel). A visitor holds at most
`per_visitor` places in a line: one visitor cannot fill the heavy line for everyone."""

import contextlib
import threading
import time
from dataclasses import dataclass, field

from dfkd_core import DfkdError
from dfkd_core.errors import Cancelled

POLL_S = 0.5  # how often a waiting job looks at its place and its Cancel button


class LeftTheLine(Cancelled):
    """Cancel pressed while the job waited for its turn: nothing of it ran."""


@dataclass(eq=False)
class Ticket:
    line: "Line"
    session: str
    kind: str  # what the job is, as a visitor reads it: "a distillation"
    joined: float = field(default_factory=time.monotonic)
    started: float | None = None

    def wait(self, stop: threading.Event | None = None):
        """Yields a line of text ("2nd in line, about 3 min") whenever it changes, until the job's
        turn comes; Cancelled (and out of the line) when `stop` is set meanwhile."""
        shown = None
        while True:
            with self.line.changed:
                if stop is not None and stop.is_set():
                    self.line.leave(self)
                    raise LeftTheLine("Cancelled while waiting in line: nothing ran.")
                if self.line.admit(self):
                    return
                text = self.line.place_text(self)
            if text != shown:
                shown = text
                yield text
            with self.line.changed:
                self.line.changed.wait(POLL_S)

    def leave(self) -> None:
        self.line.leave(self)


class Line:
    def __init__(self, name: str, slots: int, per_visitor: int, typical_s: dict):
        self.name, self.slots, self.per_visitor = name, slots, per_visitor
        self.typical_s = dict(typical_s)  # kind -> seconds, updated from finished jobs
        self.changed = threading.Condition()
        self.waiting: list[Ticket] = []
        self.running: list[Ticket] = []

    def join(self, request, kind: str) -> Ticket:
        """A place at the end of the line; DfkdError when this visitor already holds per_visitor places."""
        session = getattr(request, "session_hash", None) or ""
        with self.changed:
            mine = [t for t in self.waiting + self.running if t.session == session and session]
            if len(mine) >= self.per_visitor:
                raise DfkdError(f"You already have {mine[0].kind} in the {self.name} line: wait for it to finish, or "
                                "cancel it, before starting another.")
            ticket = Ticket(self, session, kind)
            self.waiting.append(ticket)
            return ticket

    @contextlib.contextmanager
    def place(self, request, kind: str):
        """A Ticket for the duration of the with-block: join() on entry, leave() on exit, however it ends."""
        ticket = self.join(request, kind)
        try:
            yield ticket
        finally:
            ticket.leave()

    def admit(self, ticket: Ticket) -> bool:
        """(Lock held.) Whether the ticket runs now: it does once it is among the first free slots."""
        if ticket in self.running:
            return True
        free = self.slots - len(self.running)
        if ticket in self.waiting[:max(free, 0)]:
            self.waiting.remove(ticket)
            ticket.started = time.monotonic()
            self.running.append(ticket)
            return True
        return False

    def leave(self, ticket: Ticket) -> None:
        with self.changed:
            if ticket in self.running:
                self.running.remove(ticket)
                seconds = time.monotonic() - ticket.started
                old = self.typical_s.get(ticket.kind, seconds)
                self.typical_s[ticket.kind] = 0.5 * old + 0.5 * seconds  # the next estimates follow what happens
            elif ticket in self.waiting:
                self.waiting.remove(ticket)
            self.changed.notify_all()

    def eta_s(self, ticket: Ticket) -> float:
        """(Lock held.) Seconds until the ticket's turn: the running jobs' remaining typical time, then
        the typical times of the jobs ahead, shared out over the slots."""
        now = time.monotonic()
        free_at = sorted(max(self.typical_s.get(t.kind, 60) - (now - t.started), 5) for t in self.running)
        free_at += [0.0] * (self.slots - len(free_at))
        for ahead in self.waiting[:self.waiting.index(ticket)]:
            free_at.sort()
            free_at[0] += self.typical_s.get(ahead.kind, 60)
        return min(free_at)

    def place_text(self, ticket: Ticket) -> str:
        """(Lock held.) "2nd in line for heavy work (1 running), about 3 min"."""
        place = self.waiting.index(ticket) + 1
        running = ", ".join(t.kind for t in self.running) or "nothing"
        return (f"**{ordinal(place)} in line** for {self.name} work (running now: {running}); your turn in "
                f"{duration(self.eta_s(ticket))}. Cancel leaves the line.")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    return f"about {round(seconds / 60):.0f} min"


# Heavy: one at a time (a 2-core CPU runs one training well); first estimates measured on the demo kit.
HEAVY = Line("heavy", slots=1, per_visitor=1,
             typical_s={"a distillation": 180, "a GAN training": 210, "a sweep": 60, "a sample export": 20,
                        "a distillation (API)": 180})
# Cheap: short jobs, two at a time; a visitor may have one of each kind going.
PREVIEW = Line("preview", slots=2, per_visitor=3,
               typical_s={"a Generate": 5, "a trajectory": 10, "variations": 10, "scores": 10,
                          "an evaluation": 15})
HEAVY_POOL, PREVIEW_POOL = "heavy", "preview"  # Gradio concurrency_ids of the two worker pools
POOL_SIZE = 8  # handlers in a pool at once: enough for every visitor's job to wait in its Line, not in Gradio's queue



def turn(line: Line, request, kind: str, stop: threading.Event | None = None):
    """Wait for a turn in `line` without showing the place (API calls, short actions): a context
    manager holding the place until the block ends."""
    @contextlib.contextmanager
    def held():
        with line.place(request, kind) as ticket:
            for _ in ticket.wait(stop):
                pass
            yield ticket
    return held()
