"""``guard``: a parser failure on untrusted HDF5 bytes becomes one :class:`RefgruError`.

Its own module, below both :mod:`refgru.model.files` and :mod:`refgru.model.hdf5`, so neither imports
the other back.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..errors import RefgruError


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Turn any error of the parser on a damaged file into one :class:`RefgruError` naming ``what``.

    pyfive is a parser of untrusted bytes: what it raises on a file it does not expect (``struct.error``,
    ``AssertionError``, ``KeyError``, ``RecursionError``...) says only that the file is damaged."""
    try:
        yield
    except RefgruError:
        raise
    except Exception as exc:  # noqa: BLE001  (every parser failure means the same thing: a damaged file)
        reason = (str(exc).splitlines() or [""])[0][:160] or "no detail"
        raise RefgruError(f"{what}: expected a readable HDF5 file, got a damaged one "
                          f"({type(exc).__name__}: {reason!r})") from None
