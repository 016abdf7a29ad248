"""Settings: each declared once, in its settings dataclass, with its default, a one-line help
and its range or choices (`setting`); the CLI's flags, the app's controls and every config
read them from there. from_mapping builds a dataclass from a config mapping (unknown keys
refused with "did you mean", nested dataclasses, lists as tuples) and check_types checks
every field against its declaration: type, finite, range, choices. Each check raises
DfkdError naming where the setting was found and what is expected."""

import argparse
import difflib
import math
import re
import types
import typing
from dataclasses import MISSING, field, fields, is_dataclass

from .errors import DfkdError


def setting(default=MISSING, help: str = "", *, low=None, high=None, low_open=False, high_open=False,
            choices=None, factory=None):
    """A dataclass field with its declaration: the default (or `factory` for a mutable one), one
    line of help (what it does, what raising it does) and its range [low, high] or choices."""
    meta = {"help": help, "low": low, "high": high, "low_open": low_open, "high_open": high_open,
            "choices": tuple(choices) if choices is not None else None}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def declaration(f) -> dict:
    """The declaration of dataclass field f (empty help and no bounds when it has none)."""
    return {"help": "", "low": None, "high": None, "low_open": False, "high_open": False, "choices": None,
            **dict(f.metadata)}


def _parts(kind) -> tuple[list, bool]:
    """The types a hint allows, and whether None is one of them (`int | None`, Optional[int])."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = list(typing.get_args(kind))
        return [a for a in args if a is not type(None)], type(None) in args
    return [kind], False


def nested_class(kind):
    """The dataclass a field holds (`GuidanceConfig`, `CutMixConfig | None`), or None."""
    return next((a for a in _parts(kind)[0] if isinstance(a, type) and is_dataclass(a)), None)


def hints(cls) -> dict:
    return typing.get_type_hints(cls)


def from_mapping(cls, mapping, where: str, fixed=()):
    """cls(**mapping) from a config mapping: unknown keys (and the `fixed` ones, which the
    caller sets) refused with "did you mean"; a nested dataclass built from its own mapping;
    lists become tuples where the field is a tuple. Types and ranges: check_types."""
    allowed = [f.name for f in fields(cls) if f.name not in fixed]
    mapping = check_keys({} if mapping is None else mapping, allowed, where)
    kinds, values = hints(cls), {}
    for name, value in mapping.items():
        sub = nested_class(kinds[name])
        if sub is not None and isinstance(value, dict):
            value = from_mapping(sub, value, f"{where}: {name}")
        elif tuple in _parts(kinds[name])[0] and isinstance(value, list):
            value = tuple(value)
        values[name] = value
    try:
        return cls(**values)
    except TypeError as e:
        raise DfkdError(f"{where}: {e}.") from None
    except DfkdError as e:  # a dataclass that checks itself names itself ("distill settings: ..."): name `where`
        raise DfkdError(f"{where}: {re.sub(r'^[A-Za-z_ ]+ settings: ', '', str(e))}") from None


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


def flag_type(kind, flag: str, **bounds):
    """An argparse `type` that parses an int or float and checks it as `number` does, so a bad
    value is refused as it is parsed, with the flag named ("--steps: must be >= 1 ..., got 0")."""
    def parse(text: str):
        value = kind(text)
        try:
            number(value, flag, "", integer=kind is int, **bounds)
        except DfkdError as e:
            raise argparse.ArgumentTypeError(str(e)[str(e).index("must"):]) from None
        return value
    parse.__name__ = kind.__name__  # argparse's "invalid int value"
    return parse


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
    """Every field of dataclass `obj` against its declaration: its type (bool, int, float, str,
    None where allowed; nested dataclasses checked in turn), a finite number, its range and
    choices. Whole floats given for int fields become ints."""
    kinds = hints(type(obj))
    for f in fields(obj):
        value, (allowed, optional) = getattr(obj, f.name), _parts(kinds[f.name])
        if value is None:
            if optional or allowed == [typing.Any]:
                continue
            raise DfkdError(f"{where}: {f.name} must be set, got None.")
        sub = nested_class(kinds[f.name])
        if sub is not None:
            if not isinstance(value, sub):
                raise DfkdError(f"{where}: {f.name} must be a mapping of {sub.__name__} settings, got {value!r}.")
            check_types(value, f"{where}: {f.name}")
            continue
        setattr(obj, f.name, _checked(value, f.name, allowed, declaration(f), where))


def _checked(value, name: str, allowed: list, d: dict, where: str):
    bounds = {k: d[k] for k in ("low", "high", "low_open", "high_open")}
    if dict in allowed and isinstance(value, dict):  # e.g. a teacher given as {source, arch, ...}
        return value
    if bool in allowed:
        value = boolean(value, name, where)
    elif int in allowed and float not in allowed:
        value = number(value, name, where, integer=True, **bounds)
    elif float in allowed:
        value = number(value, name, where, **bounds)
    elif str in allowed and not isinstance(value, str):
        raise DfkdError(f"{where}: {name} must be a text, got {value!r}.")
    elif (tuple in allowed or list in allowed) and not isinstance(value, (tuple, list)):
        raise DfkdError(f"{where}: {name} must be a list, got {value!r}.")
    if d["choices"] is not None and value not in d["choices"]:
        raise DfkdError(f"{where}: {name} must be one of {', '.join(map(str, d['choices']))}; got {value!r}"
                        f"{suggestion(value, d['choices'])}.")
    return value


def base_of(obj, cls):
    """The `cls` part of obj, an instance of a subclass of dataclass cls (a stage's settings
    hand on their method's own config, so what the method records is unchanged)."""
    return cls(**{f.name: getattr(obj, f.name) for f in fields(cls)})


def differences(old, new, where: str = "") -> list[str]:
    """'key: old -> new' for every setting that differs, with dotted paths into stages."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            path = f"{where}.{key}" if where else str(key)
            if key not in new:
                out.append(f"{path}: {old[key]!r} -> (not set)")
            elif key not in old:
                out.append(f"{path}: (not set) -> {new[key]!r}")
            else:
                out += differences(old[key], new[key], path)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{where}[{i + 1}]")]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]
