"""The ``refgru`` command line (``refgru.cli:main``). Each subcommand lives in its own module, listed in ``COMMANDS``.

A command module has ``register(subparsers)``, which adds its parser and sets ``func`` to a function
taking the parsed arguments and returning an exit code. Errors print one line to stderr and exit
non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import RefgruError, escape

#: Modules that each define one or more subcommands, in the order ``refgru --help`` lists them.
COMMANDS = ["refgru.teach.demo", "refgru.cli.teach", "refgru.cli.model", "refgru.cli.weights"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {escape(message, 1000)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="refgru", description="A NumPy reference for the Keras GRU layer.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (RefgruError, OSError, KeyError, ImportError) as exc:
        if args.debug:
            raise
        print(f"refgru: error: {one_line(exc)}", file=sys.stderr)
        return 1


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` as one line without control characters (a RefgruError already is one)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return escape(lines[0] if lines else type(exc).__name__, 1000)


__all__ = ["COMMANDS", "build_parser", "main", "one_line"]
