"""ZeroGPU on Hugging Face Spaces: `spaces.GPU` gives a handler a GPU for its duration. Where
the `spaces` package is not installed (a laptop, the CPU tier, the tests) the decorator
changes nothing."""

try:
    import spaces
except ImportError:  # not on Spaces: no GPU to request
    spaces = None

SAMPLING_S = 120  # generation and sweeps of the demo kit fit well inside this on a GPU
TRAINING_S = 290  # ZeroGPU's longest grant is about 5 minutes; longer runs resume by name


def gpu(duration: int):
    """spaces.GPU(duration=...) when running on Spaces, else the function unchanged."""
    def wrap(fn):
        if spaces is None:
            return fn
        return spaces.GPU(duration=duration)(fn)
    return wrap
