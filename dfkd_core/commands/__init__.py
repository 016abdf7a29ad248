"""Subcommands of `dfkd` beyond teacher/generate; each module defines add_commands(subparsers)."""
