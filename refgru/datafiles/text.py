"""The ``.csv`` / ``.txt`` input reader of :mod:`refgru.datafiles`: one flattened sequence per line, in row chunks.

Lines are read with a bounded ``readline`` (at most ``MAX_LINE`` bytes), counted once, then parsed chunk
by chunk into the declared row shape (one ``None`` axis inferred); integer dtypes refuse fractions.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterator

import numpy as np

from ..errors import error

MAX_LINE = 1 << 26     # bytes in one CSV line (64 MiB)


class TextRows:
    """Rows of a ``.csv``/``.txt`` file: one flattened sequence per line, reshaped to ``row_shape``."""

    def __init__(self, fp, argument, row_shape, dtype, comma: bool):
        self.fp, self.argument, self.dtype, self.comma, self.line = fp, argument, np.dtype(dtype), comma, 0
        self.n_rows, self.first = 0, None
        for line, text in self._lines():
            self.n_rows += 1
            self.first = self.first or (line, text)
        if self.first is None:
            raise error(argument, "at least one row", got="a file with no data lines")
        self.row_shape = self._fit(row_shape, len(self._split([self.first[1]])[0]))
        fp.seek(0)
        self.lines = self._lines()

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        number = 0
        while text := self.fp.readline(MAX_LINE + 1):
            number += 1
            if len(text) > MAX_LINE:
                raise error(f"{self.argument} line {number}", f"at most {MAX_LINE} bytes", got="a longer line")
            if text.strip() and not text.lstrip().startswith(b"#"):
                yield number, text

    def _split(self, texts: list[bytes]) -> list[list[bytes]]:
        return [(t.replace(b",", b" ") if not self.comma else t).split(b"," if self.comma else None) for t in texts]

    def _fit(self, row_shape, n: int) -> tuple[int, ...]:
        if row_shape is None:
            return (n,)
        shape = tuple(row_shape)
        known = math.prod(d for d in shape if d is not None)
        free = [i for i, d in enumerate(shape) if d is None]
        fits = n == known if not free else len(free) == 1 and known and n % known == 0 and n > 0
        if not fits:
            want = "x".join("?" if d is None else str(d) for d in shape)
            raise error(f"{self.argument} line {self.first[0]}", f"a row of {want} values (the declared row shape "
                        f"{tuple(shape)}, flattened)", got=f"{n} values")
        return tuple(n // known if d is None else d for d in shape)

    def read(self, rows: int) -> np.ndarray:
        batch = list(itertools.islice(self.lines, rows))
        if len(batch) != rows:
            raise error(self.argument, f"{self.n_rows} rows (as first counted)", got="a file that changed while read")
        fields = self._split([t for _, t in batch])
        width = math.prod(self.row_shape)
        for (line, _), f in zip(batch, fields, strict=True):
            if len(f) != width:
                raise error(f"{self.argument} line {line}", f"{width} values (row shape {self.row_shape})",
                            got=f"{len(f)} values")
        try:
            values = np.array(fields, dtype=np.float64)
        except ValueError:
            line = next(n for (n, _), f in zip(batch, fields, strict=True) if not _numbers(f))
            raise error(f"{self.argument} line {line}", "numbers separated by " + ("commas" if self.comma else
                        "spaces or commas"), got="a field that is not a number") from None
        if self.dtype.kind in "iub":
            bad = np.flatnonzero(~((values == np.round(values)) & np.isfinite(values)).all(axis=1))
            if len(bad):
                raise error(f"{self.argument} line {batch[bad[0]][0]}", f"whole numbers (dtype {self.dtype})",
                            got=f"a fraction or NaN ({len(bad)} such line{'s' * (len(bad) != 1)} here)")
        return values.reshape((rows, *self.row_shape)).astype(self.dtype)


def _numbers(fields: list[bytes]) -> bool:
    try:
        np.array(fields, dtype=np.float64)
    except ValueError:
        return False
    return True
