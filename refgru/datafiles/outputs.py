"""The output writers of :mod:`refgru.datafiles`: ``.npy``, ``.npz`` and ``.csv``, written chunk by chunk.

Outputs go to a temporary directory next to ``OUT`` and are renamed into place on
:meth:`OutputFile.close`, so a failed run leaves no file; ``.npy`` outputs go through
``numpy.lib.format.open_memmap``, flushed and released (``MADV_DONTNEED``) after every chunk.
"""

from __future__ import annotations

import math
import mmap
import os
import shutil
import tempfile
import zipfile
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from ..errors import describe, error
from .checks import extension

OUTPUT_FORMATS = (".npy", ".npz", ".csv")


def result_parts(result: Any, names: list[str] | None) -> list[tuple[str, np.ndarray]]:
    """A model's result (array, list, tuple or dict) as ``[(name, array)]``.

    A dict keeps its keys; one array is named ``names[0]`` (or ``output``); the outputs of a list or tuple
    are ``<name>_<index>`` (``gru_0, head_1``), unique even when one layer gives several outputs."""
    if isinstance(result, dict):
        return [part for k, v in result.items() for part in _nested(str(k), v)]
    if not isinstance(result, (list, tuple)):
        return [(names[0] if names else "output", np.asarray(result))]
    labels = [f"{names[i] if names and i < len(names) else 'output'}_{i}" for i in range(len(result))]
    return [part for label, value in zip(labels, result, strict=True) for part in _nested(label, value)]


def _nested(label: str, value: Any) -> list[tuple[str, np.ndarray]]:
    """One output, flattened: the states of stacked cells are a nested list, ``<label>_<index>`` each."""
    if isinstance(value, (list, tuple)):
        return [part for i, v in enumerate(value) for part in _nested(f"{label}_{i}", v)]
    return [(label, np.asarray(value))]


class _NpyOut:
    """One ``.npy`` output of ``n_rows`` rows, written chunk by chunk through ``open_memmap``."""

    def __init__(self, path, n_rows: int, first: np.ndarray):
        self.path, self.n_rows, self.row_shape, self.dtype, self.done = path, n_rows, first.shape[1:], first.dtype, 0
        self.array = npy_format.open_memmap(path, mode="w+", dtype=first.dtype, shape=(n_rows, *self.row_shape))
        self.offset, self.row_bytes = self.array.offset, math.prod(self.row_shape) * first.dtype.itemsize

    def write(self, name: str, chunk: np.ndarray) -> None:
        if chunk.shape[1:] != self.row_shape or self.done + len(chunk) > self.n_rows:
            raise error(f"output {name!r}", f"rows of shape {self.row_shape}, {self.n_rows} in all",
                        got=f"{describe(chunk)} after {self.done} rows")
        self.array[self.done:self.done + len(chunk)] = chunk
        self.array.flush()
        start, end = self.offset + self.done * self.row_bytes, self.offset + (self.done + len(chunk)) * self.row_bytes
        self.done += len(chunk)
        raw = getattr(self.array, "_mmap", None)
        if raw is not None and hasattr(mmap, "MADV_DONTNEED"):  # written and flushed: release the pages
            base = self.offset - self.offset % mmap.ALLOCATIONGRANULARITY  # where numpy's mapping starts
            first = (start - base) // mmap.PAGESIZE * mmap.PAGESIZE
            raw.madvise(mmap.MADV_DONTNEED, first, end - base - first)

    def close(self) -> None:
        del self.array


class OutputFile:
    """An output file of ``n_rows`` rows written chunk by chunk (build it with :func:`open_output`)."""

    def __init__(self, path, n_rows: int, names: list[str] | None, argument: str):
        self.ext = extension(path, OUTPUT_FORMATS, argument)
        self.path, self.n_rows, self.names, self.argument = str(path), n_rows, names, argument
        self.tmp = tempfile.mkdtemp(prefix=".refgru-", dir=os.path.dirname(os.path.abspath(path)))
        self.outs: dict[str, Any] = {}
        self.rows = 0

    def write(self, result: Any) -> None:
        """Append the model's result for the next rows (an array, or a list / tuple / dict of them)."""
        parts = result_parts(result, self.names)
        if self.ext != ".npz" and len(parts) > 1:
            raise error(self.argument, f"an .npz path for a model with {len(parts)} outputs",
                        got=f"{self.path!r}")
        for name, chunk in parts:
            if name not in self.outs:
                if self.rows:
                    raise error(f"output {name!r}", f"one of {list(self.outs)}", got=repr(name))
                self._start(name, chunk)
            out = self.outs[name]
            if self.ext == ".csv":
                width = math.prod(chunk.shape[1:])
                if chunk.shape[1:] != out[1]:
                    raise error(f"output {name!r}", f"rows of shape {out[1]}", got=describe(chunk))
                fmt = {"f": "%.9g" if chunk.dtype.itemsize <= 4 else "%.17g"}.get(chunk.dtype.kind, "%d")
                np.savetxt(out[0], chunk.reshape(len(chunk), width), fmt=fmt, delimiter=",")
            else:
                out.write(name, chunk)
        self.rows += len(parts[0][1])

    def _start(self, name: str, chunk: np.ndarray) -> None:
        if self.ext == ".csv":
            self.outs[name] = (open(os.path.join(self.tmp, "out.csv"), "w", encoding="ascii"), chunk.shape[1:])
        else:
            self.outs[name] = _NpyOut(os.path.join(self.tmp, f"{len(self.outs)}.npy"), self.n_rows, chunk)

    def close(self) -> None:
        """Check that every row was written and move the file into place."""
        if self.rows != self.n_rows:
            self.abort()
            raise error(self.argument, f"{self.n_rows} rows written", got=f"{self.rows}")
        files = []
        for name, out in self.outs.items():
            (out[0] if self.ext == ".csv" else out).close()
            files.append((name, out[0].name if self.ext == ".csv" else out.path))
        if self.ext == ".npz":
            with zipfile.ZipFile(os.path.join(self.tmp, "out.npz"), "w", zipfile.ZIP_STORED, allowZip64=True) as z:
                for name, file in files:
                    z.write(file, f"{name}.npy")
            files = [("", os.path.join(self.tmp, "out.npz"))]
        os.replace(files[0][1], self.path)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def abort(self) -> None:
        """Drop everything written so far; no output file is left."""
        for out in self.outs.values():
            (out[0] if self.ext == ".csv" else out).close()
        self.outs = {}
        shutil.rmtree(self.tmp, ignore_errors=True)


def open_output(path: str | os.PathLike, n_rows: int, *, names: list[str] | None = None,
                argument: str = "OUT") -> OutputFile:
    """An :class:`OutputFile` for ``n_rows`` rows; ``names`` label the outputs of an ``.npz`` (the model's
    output names; a dict result keeps its keys)."""
    try:
        return OutputFile(path, n_rows, names, argument)
    except OSError as exc:
        raise error(argument, "a path in a writable directory", got=f"{str(path)!r} ({exc.strerror})") from None
