"""The ``refgru`` command line (``refgru.cli:main``). Each subcommand lives in its own module, listed in ``COMMANDS``.

A command module has ``register(subparsers)``, which adds its parser (with a description and an
example) and sets ``func`` to a function taking the parsed arguments and returning an exit code.
Errors print one line to stderr and exit non-zero; ``--debug`` shows the traceback instead. A closed
pipe (``refgru predict ... | head``) ends the command quietly with exit code 0, as ``head`` expects.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import RefgruError, escape

#: Modules that each define one or more subcommands, in the order ``refgru --help`` lists them.
COMMANDS = ["refgru.teach.demo", "refgru.cli.teach", "refgru.cli.model", "refgru.cli.weights"]


class HelpFormatter(argparse.HelpFormatter):
    """Wraps a one-paragraph description; keeps text with line breaks (the examples epilog) as written."""

    def _fill_text(self, text, width, indent):
        return text if "\n" in text else super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {escape(message, 1000)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="refgru", description="A NumPy reference for the Keras GRU layer.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    parser.add_argument("--version", action="version", version=f"refgru {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        _drop_stdout()
        return 0
    except KeyboardInterrupt:
        print("refgru: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001  (the contract: one line on stderr, no traceback)
        if args.debug:
            raise
        known = isinstance(exc, (RefgruError, OSError, KeyError, ImportError, MemoryError))
        text = one_line(exc) if known else (f"internal error ({type(exc).__name__}: {one_line(exc)}); "
                                            "rerun with --debug for the traceback")
        print(f"refgru: error: {text}", file=sys.stderr)
        return 1


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (stdout replaced)
        pass


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` as one line without control characters (a RefgruError already is one)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return escape(lines[0] if lines else type(exc).__name__, 1000)


__all__ = ["COMMANDS", "HelpFormatter", "build_parser", "main", "one_line"]
