"""Checks shared by the readers and writers of :mod:`refgru.datafiles`: extensions and non-finite rows."""

from __future__ import annotations

import os
import pathlib

import numpy as np

from ..errors import RefgruError, error

FIRST_ROWS = 5         # row indices an error message lists
CHECK_BYTES = 1 << 24  # bytes of input checked for NaN / inf at a time


def extension(path: str | os.PathLike, accepted: tuple[str, ...], argument: str) -> str:
    """The lower-case extension of ``path``; a :class:`RefgruError` unless it is one of ``accepted``."""
    ext = pathlib.Path(path).suffix.lower()
    if ext not in accepted:
        raise error(argument, f"a file ending in {', '.join(accepted)}", got=f"{str(path)!r} (extension {ext!r})")
    return ext


def nonfinite_rows(x: np.ndarray) -> np.ndarray:
    """Indices of the rows (along axis 0) of ``x`` that hold a NaN or an inf (none for integer arrays).

    Checked ``CHECK_BYTES`` at a time, so a large (or memory-mapped) ``x`` needs no full-size mask."""
    if x.dtype.kind != "f" or x.ndim == 0 or not len(x):
        return np.zeros(0, dtype=np.int64)
    step = max(1, CHECK_BYTES // max(1, x[:1].nbytes))
    found = [i + np.flatnonzero(~np.isfinite(x[i:i + step].reshape(len(x[i:i + step]), -1)).all(axis=1))
             for i in range(0, len(x), step)]
    return np.concatenate(found)


def nonfinite_error(argument: str, count: int, first: list[int]) -> RefgruError:
    """The one error for NaN or inf inputs: how many rows, and the first row indices."""
    rows = ", ".join(str(i) for i in first[:FIRST_ROWS]) + (", ..." if count > FIRST_ROWS else "")
    return error(argument, "finite values (refgru refuses NaN and inf inputs; drop or fill those rows)",
                 got=f"{count} row{'s' * (count != 1)} holding NaN or inf (row {rows})")


def check_finite(argument: str, x: np.ndarray) -> np.ndarray:
    """``x`` unchanged, or :func:`nonfinite_error` naming its rows that hold NaN or inf."""
    bad = nonfinite_rows(x)
    if len(bad):
        raise nonfinite_error(argument, len(bad), bad[:FIRST_ROWS].tolist())
    return x
