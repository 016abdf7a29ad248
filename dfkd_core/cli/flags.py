"""CLI flags derived from a settings dataclass: one flag per scalar field (`adv_steps` ->
`--adv-steps`), typed and defaulted by the dataclass itself, so a new setting gets its flag
and a changed default changes the CLI with it. A flag left out stays out of the returned
dict, and the dataclass (with its checks) supplies the default."""

import argparse
from dataclasses import MISSING, fields

SCALARS = (bool, int, float, str)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def scalar_fields(cls, skip=()):
    """(field, default) of the fields a flag can carry: int, float, str, bool (or None)."""
    for f in fields(cls):
        default = f.default if f.default is not MISSING else None
        if f.name in skip or not (default is None or isinstance(default, SCALARS)):
            continue
        yield f, default


def add_dataclass_flags(parser: argparse.ArgumentParser, cls, helps: dict, skip=(), choices: dict | None = None):
    """A flag for each scalar field of `cls` not in `skip`; helps[name] is its help text."""
    for f, default in scalar_fields(cls, skip):
        text = f"{helps.get(f.name, f.name.replace('_', ' '))} (default {default})"
        if isinstance(default, bool):
            parser.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            kind = type(default) if default is not None else str
            parser.add_argument(_flag(f.name), type=kind, default=None, help=text,
                                choices=(choices or {}).get(f.name))


def dataclass_flags(args: argparse.Namespace, cls, skip=()) -> dict:
    """The values of the flags add_dataclass_flags made that were given on the command line."""
    return {f.name: getattr(args, f.name) for f, _ in scalar_fields(cls, skip) if getattr(args, f.name) is not None}
