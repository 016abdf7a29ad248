"""Checks for settings, shared by every config (run configs, stages, CLI flags, the app): one
unknown-key check with "did you mean", and number checks that refuse NaN, infinities, bools
and out-of-range values before any work starts. Each raises DfkdError naming where the
setting was found and what is expected."""

import difflib
import math
from dataclasses import fields

from .errors import DfkdError


def suggestion(key, allowed) -> str:
    close = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(mapping, allowed, where: str, kind: str = "settings") -> dict:
    """mapping must be a dict whose keys are all in `allowed`; returns it."""
    if not isinstance(mapping, dict):
        raise DfkdError(f"{where}: expected a mapping of {kind}, got {mapping!r}.")
    unknown = [k for k in mapping if k not in set(allowed)]
    if unknown:
        named = ", ".join(f"'{k}'{suggestion(k, allowed)}" for k in unknown)
        raise DfkdError(f"{where}: unknown {kind} {named}; expected some of {', '.join(sorted(map(str, allowed)))}.")
    return mapping


def number(value, name: str, where: str, *, low=None, high=None, low_open=False, high_open=False,
           integer=False):
    """A finite int/float (an int when `integer`) in [low, high] (open ends as asked); returns it."""
    kind = "a whole number" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, float) and integer and value.is_integer():
        value, ok_type = int(value), True
    if isinstance(value, bool) or not ok_type:
        raise DfkdError(f"{where}: {name} must be {kind}, got {value!r}.")
    if not math.isfinite(value):
        raise DfkdError(f"{where}: {name} must be a finite number, got {value!r}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
        raise DfkdError(f"{where}: {name} must be {' and '.join(p for p in (lo, hi) if p)}, got {value!r}.")
    return value


def integer(value, name: str, where: str, low=None, high=None) -> int:
    return number(value, name, where, low=low, high=high, integer=True)


def finite(value, name: str, where: str) -> float:
    return number(value, name, where)


def boolean(value, name: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise DfkdError(f"{where}: {name} must be true or false, got {value!r}.")
    return value


def text(value, name: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DfkdError(f"{where}: {name} must be a non-empty text, got {value!r}.")
    return value


def check_types(obj, where: str):
    """Every int/float/bool field of dataclass `obj` has that type and is finite (the
    dataclass's __post_init__ adds its ranges)."""
    for f in fields(obj):
        value, kind = getattr(obj, f.name), f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if kind == "bool":
            boolean(value, f.name, where)
        elif kind == "int":
            setattr(obj, f.name, integer(value, f.name, where))
        elif kind == "float":
            finite(value, f.name, where)
