"""The one error type refgru raises for bad input, and the one builder that words its messages.

Every message reads ``"<argument>: expected <expected>, got <received>"`` and is ONE line: whatever is
quoted in it (a name, a path, a value, a class name from a model file or from the caller) goes through
:func:`quote` or :func:`describe`, which escape control characters the way ``repr`` does and cut huge
values to a bounded length with a ``...`` mark. :class:`RefgruError` escapes its message once more, so
no control character reaches a terminal even from a message built elsewhere.
"""

from __future__ import annotations

import reprlib

import numpy as np

#: Longest quoted value (characters after escaping) before it is cut with "...".
QUOTE_LIMIT = 80
#: Longest ``argument`` or ``got`` part of a message before it is cut with "...".
PART_LIMIT = 400

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = QUOTE_LIMIT
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8


def escape(text: str, limit: int | None = None) -> str:
    """``text`` with every non-printable character (newline, carriage return, ESC, ...) written as its
    ``repr`` escape (``\\n``, ``\\r``, ``\\x1b``), cut to ``limit`` characters with ``...``."""
    text = str(text)
    if limit is not None and len(text) > 4 * limit:  # bound the work on a huge text before escaping it
        text = text[: 4 * limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` on one line, at most about ``limit`` characters: ``'a\\nb'`` for a name with a newline."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit])[:-1] + "..." + repr(value[:1])[-1]
    return escape(_REPR.repr(value), limit)


def describe(value: object) -> str:
    """A short one-line description of ``value`` for an error message: arrays by shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"{quote(value)} ({escape(type(value).__name__, QUOTE_LIMIT)})"


class RefgruError(ValueError):
    """Bad input to refgru: the message names the argument, what was expected and what was received.

    The message is made one line (control characters escaped) however it was built.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(escape(a) if isinstance(a, str) else a for a in args))


def error(argument: str, expected: str, received: object = None, *, got: str | None = None) -> RefgruError:
    """Build ``RefgruError("<argument>: expected <expected>, got <received>")``.

    ``received`` is the offending value, described with :func:`describe`; pass ``got=`` instead to
    word what was received yourself (e.g. ``got="4 arrays"``), quoting any value in it with :func:`quote`.
    """
    received_text = describe(received) if got is None else escape(got, PART_LIMIT)
    return RefgruError(f"{escape(argument, PART_LIMIT)}: expected {escape(expected)}, got {received_text}")


__all__ = ["PART_LIMIT", "QUOTE_LIMIT", "RefgruError", "describe", "error", "escape", "quote"]
