"""The one error type refgru raises for bad input, and helpers that word its messages."""

from __future__ import annotations

import numpy as np


class RefgruError(ValueError):
    """Bad input to refgru: the message names the argument, what was expected and what was received."""


def describe(value: object) -> str:
    """A short description of ``value`` for an error message: arrays by shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def error(argument: str, expected: str, received: object = None, *, got: str | None = None) -> RefgruError:
    """Build ``RefgruError("<argument>: expected <expected>, got <received>")``.

    ``received`` is the offending value, described with :func:`describe`; pass ``got=`` instead to
    word what was received yourself (e.g. ``got="4 arrays"``).
    """
    return RefgruError(f"{argument}: expected {expected}, got {describe(received) if got is None else got}")
