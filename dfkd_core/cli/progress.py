"""Progress in the terminal: one tqdm bar per phase, counted in whole units (images, steps,
epochs), opened at the phase's first report, so a phase that has nothing left to do prints
no bar. The bar starts at what was done before (`initial`), so a resumed run's rate counts
only this run's work; rates average over the whole phase (smoothing 0), so pauses such as
evaluation are in the estimate. An epoch counts once its evaluation is done (metrics());
until then the postfix shows how far the epoch is.

The engine reports progress(phase, done, total) (epochs as fractions: 3.2 is a fifth of
the fourth epoch) and metrics(phase, row) after each epoch or log interval."""

import math

EPOCH_PHASES = ("distill", "train")  # the engine reports fractional epochs for these
UNITS = {"hidfd gan": "step"}  # the other phases count images
SHOWN = ("train_loss", "test_acc", "loss_d", "loss_g")  # metrics worth a glance beside the bar


class PhaseBars:
    """progress(phase, done, total) and metrics(phase, row) hooks that draw the bars."""

    def __init__(self, enabled: bool = True, file=None):
        self.enabled, self.file, self.bar, self.phase, self.shown = enabled, file, None, None, {}

    def _open(self, phase: str, done: float, total: float):
        from tqdm import tqdm  # heavy: keeps tqdm off the CLI's start-up
        self.close()
        epochs = phase in EPOCH_PHASES
        self.phase, self.shown = phase, {}
        # an epoch counts once evaluated: at 6.0 the sixth is trained, not yet evaluated
        done = max(0, math.ceil(done) - 1) if epochs else math.floor(done)
        self.bar = tqdm(desc=phase, total=int(total), initial=done,
                        unit="epoch" if epochs else UNITS.get(phase, "img"), smoothing=0, dynamic_ncols=True,
                        disable=not self.enabled, file=self.file)

    def __call__(self, phase: str, done: float, total: float):
        if phase != self.phase:
            self._open(phase, done, total)
        self.bar.total = int(total)
        if phase not in EPOCH_PHASES:
            self.bar.update(int(done) - self.bar.n)
            return
        epoch, part = math.floor(done), done - math.floor(done)
        if epoch > self.bar.n:  # its batches are done: the evaluation runs before metrics() counts it
            self._postfix(epoch=f"{epoch} ending (evaluation, checkpoint)")
        else:
            self._postfix(epoch=f"{epoch + 1} at {int(100 * part)}%")

    def metrics(self, phase: str, row: dict):
        if self.bar is None:
            return
        if self.phase in EPOCH_PHASES and "epoch" in row:
            self.shown.pop("epoch", None)
            self.bar.set_postfix(self.shown, refresh=False)
            self.bar.update(int(row["epoch"]) - self.bar.n)
        self._postfix(**{k: row[k] for k in SHOWN if k in row})
        if self.phase == "distill" and self.bar.n >= self.bar.total:  # the stage ends with these
            self._postfix(then="final evaluation, export")

    def _postfix(self, **values):
        if any(self.shown.get(k) != v for k, v in values.items()):  # redraw only when a figure changes
            self.shown.update(values)
            self.bar.set_postfix(self.shown)

    def write(self, line: str):
        """A line of the run's log, printed above the open bar (print() would split it)."""
        from tqdm import tqdm  # heavy: keeps tqdm off the CLI's start-up
        tqdm.write(line, file=self.file)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        self.bar, self.phase = None, None


def single(phase: str, enabled: bool = True):
    """(bars, progress(done, total)) for a command with one phase of images (generate, augment, export)."""
    bars = PhaseBars(enabled)
    return bars, lambda done, total: bars(phase, done, total)
