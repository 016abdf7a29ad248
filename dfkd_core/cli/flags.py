"""CLI flags derived from a settings dataclass: one flag per scalar field (`adv_steps` ->
`--adv-steps`) whose help, default, choices and range are the field's declaration
(dfkd_core.settings.setting), all shown in one style: "help (default D; range)". A new
setting gets its flag and a changed default changes the CLI with it. A flag left out stays
out of the returned dict, so the dataclass (with its checks) supplies the default: no
default is ever restated here."""

import argparse
import types
import typing
from dataclasses import MISSING, fields

from dfkd_core.settings import declaration, flag_type

SCALARS = (bool, int, float, str)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def scalar_type(hint):
    """The one scalar type a field's hint allows (`int | None` -> int, `str | dict` -> str), or None."""
    parts = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    for kind in SCALARS:
        if kind in parts:
            return kind
    return None


def default_of(f):
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None


def scalar_fields(cls, skip=(), only=None):
    """(field, default) of the fields a flag can carry: a bool, int, float or str (or None)."""
    kinds = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name in skip or (only is not None and f.name not in only) or scalar_type(kinds[f.name]) is None:
            continue
        yield f, default_of(f)


def _number(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _shown(default) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    return _number(default) if isinstance(default, (int, float)) else str(default)


def range_text(d: dict) -> str:
    """A declaration's range in words: "1 to 10000", "above 0, at most 10", "at least 0"."""
    low, high = d["low"], d["high"]
    if low is not None and high is not None and not d["low_open"] and not d["high_open"]:
        return f"{_number(low)} to {_number(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'above' if d['low_open'] else 'at least'} {_number(low)}")
    if high is not None:
        parts.append(f"{'below' if d['high_open'] else 'at most'} {_number(high)}")
    return ", ".join(parts)


def help_text(f, default) -> str:
    """The flag's help: the declared help, then its default and range."""
    d = declaration(f)
    shown = [] if default is None else ["default " + _shown(default)]
    if range_text(d):
        shown.append(range_text(d))
    text = d["help"] or f.name.replace("_", " ")
    return (f"{text} ({'; '.join(shown)})" if shown else text).replace("%", "%%")  # argparse formats help with %


def add_dataclass_flags(parser, cls, skip=(), only=None, names: dict | None = None, prefix: str = "",
                        defaults: bool = False, required=(), shown: dict | None = None):
    """A flag for each scalar field of `cls` (those in `only`, less those in `skip`); names
    maps a field to another flag name (HiDFD's `count` is `--samples`); `prefix` keeps the
    fields of two dataclasses apart in the parsed namespace. A bool is `--x/--no-x`.
    defaults: the parsed value of a flag left out is its default (for the CLI's own options,
    read straight from args); otherwise None, and the engine's dataclass fills it in. shown:
    defaults to show that the field itself does not hold (a parent dataclass sets them)."""
    kinds = typing.get_type_hints(cls)
    for f, default in scalar_fields(cls, skip, only):
        name = (names or {}).get(f.name, f.name)
        flag, dest = _flag(name), prefix + f.name
        text, choices = help_text(f, (shown or {}).get(f.name, default)), declaration(f)["choices"]
        kw = {"dest": dest, "help": text, "default": default if defaults else None, "required": f.name in required}
        kind = scalar_type(kinds[f.name])
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        else:  # checked as it is parsed, so the message names the flag (the dataclass checks it again)
            many = choices is not None and len(choices) > 4  # a long list reads better in the help than the usage
            if many:
                kw["help"] += f"; one of {', '.join(map(str, choices))}"
            parser.add_argument(flag, type=_checked(kind, f, flag), choices=choices,
                                metavar=None if choices and not many else name.upper(), **kw)


def _checked(kind, f, flag: str):
    """kind, and the declared range for a number: argparse names the flag when it is out."""
    if kind not in (int, float):
        return kind
    d = declaration(f)
    return flag_type(kind, flag, low=d["low"], high=d["high"], low_open=d["low_open"], high_open=d["high_open"])


def dataclass_flags(args: argparse.Namespace, cls, skip=(), only=None, prefix: str = "") -> dict:
    """The values of the flags add_dataclass_flags made that were given on the command line."""
    return {f.name: getattr(args, prefix + f.name) for f, _ in scalar_fields(cls, skip, only)
            if getattr(args, prefix + f.name, None) is not None}


def from_flags(args: argparse.Namespace, cls, skip=(), only=None, prefix: str = "", **fixed):
    """cls built from the flags given (and `fixed`), every other field at its dataclass default."""
    return cls(**{**dataclass_flags(args, cls, skip, only, prefix), **fixed})
