"""The `dfkd` command line: one module per command, each with add_commands(subparsers).

User mistakes (DfkdError) print one paragraph and exit with code 2; bugs keep their traceback.
Building the parser imports only light modules (settings dataclasses, no torch), so `dfkd
--help` and a refused input answer at once; each command imports its heavy parts when it runs."""

import argparse
import importlib
import sys

from dfkd_core.errors import DfkdError

COMMAND_MODULES = ["teacher", "generate", "run", "hidfd", "augment_filter", "judge", "export_store", "sweep"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dfkd", description="Data-free knowledge distillation with generative models.")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").add_commands(sub)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a refused flag (2, argparse has printed why): the same code to callers
        return e.code
    args.argv = argv  # recorded in cards, so a run says how to reproduce it
    try:
        args.func(args)
    except DfkdError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: runs resume when the same command is run again
        print("\ninterrupted (rerun the same command to resume)", file=sys.stderr)
        return 130
    except OSError as e:  # a folder that cannot be written, a full disk, a file that vanished
        where = f" {e.filename}" if e.filename else ""
        print(f"error: could not read or write{where}: {e.strerror or e}. Check the path and its permissions.",
              file=sys.stderr)
        return 2
    finally:
        if "dfkd_core.runtime.distributed" in sys.modules:  # imported only by work that may start a process group
            sys.modules["dfkd_core.runtime.distributed"].cleanup()  # torchrun / accelerate: leave it cleanly
    return 0
