"""Input and output files for predict at scale: ``.npy``, ``.npz``, ``.csv``/``.txt``, read and written in row chunks.

Nothing here unpickles: ``.npy`` headers are parsed with ``numpy.lib.format.read_magic`` /
``read_array_header_*`` and checked (a plain numeric dtype, C order, at most ``MAX_NDIM`` axes, a file
or ``.npz`` member exactly as long as the header says) before a byte of data is read. Rows are then
read with ``readinto`` into a fresh chunk, so no mapped page of the input stays resident. Outputs are
written to ``<OUT>.partial`` and renamed on :meth:`OutputFile.close`, so a failed run leaves no file;
``.npy`` outputs go through ``numpy.lib.format.open_memmap``, flushed and released
(``MADV_DONTNEED``) after every chunk.
"""

from __future__ import annotations

import itertools
import math
import mmap
import os
import pathlib
import shutil
import tempfile
import zipfile
from typing import Any, Iterator

import numpy as np
from numpy.lib import format as npy_format

from .errors import RefgruError, describe, error

INPUT_FORMATS = (".npy", ".npz", ".csv", ".txt")
OUTPUT_FORMATS = (".npy", ".npz", ".csv")
MAX_NDIM = 32          # axes an input array may declare
MAX_MEMBERS = 256      # arrays an .npz input may hold
MAX_LINE = 1 << 26     # bytes in one CSV line (64 MiB)
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


# -- inputs ---------------------------------------------------------------------------------------------------------


def _npy_header(fp, size: int, argument: str) -> tuple[tuple[int, ...], np.dtype]:
    """Read and check a ``.npy`` header from ``fp`` (``size`` bytes long in all); leave ``fp`` at the data."""
    expected = "a .npy array of a numeric dtype, C order, whose size matches its header"
    try:
        version = npy_format.read_magic(fp)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"format version {version}")
        read = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran_order, dtype = read(fp)
    except (ValueError, TypeError, SyntaxError, OverflowError, EOFError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:100]
        raise error(argument, expected, got=f"a file whose header does not parse ({reason})") from None
    if dtype.kind not in "biuf" or dtype.hasobject or dtype.fields or dtype.shape:
        raise error(argument, expected, got=f"dtype {dtype.str!r}")
    if not 1 <= len(shape) <= MAX_NDIM or not all(type(n) is int and n >= 0 for n in shape):
        raise error(argument, f"{expected}, with 1 to {MAX_NDIM} axes (a batch axis first)", got=f"shape {shape}")
    if fortran_order and len(shape) > 1:
        raise error(argument, expected + " (save np.ascontiguousarray(x))", got="a Fortran-order array")
    need = fp.tell() + math.prod(shape) * dtype.itemsize
    if need != size:
        raise error(argument, f"{expected}: {need} bytes for shape {shape} {dtype}", got=f"{size} bytes")
    return tuple(shape), dtype


class _Binary:
    """Rows of one ``.npy`` array, read with ``readinto`` from ``fp`` (a file or an ``.npz`` member)."""

    def __init__(self, fp, shape, dtype):
        self.fp, self.n_rows, self.row_shape, self.dtype = fp, shape[0], shape[1:], dtype

    def read(self, rows: int) -> np.ndarray:
        chunk = np.empty((rows, *self.row_shape), dtype=self.dtype)
        view, done = memoryview(chunk.reshape(-1).view(np.uint8)), 0
        while done < len(view):
            got = self.fp.readinto(view[done:])
            if not got:
                raise RefgruError(f"input: expected {len(view)} more bytes, got the end of the file")
            done += got
        return chunk if self.dtype.isnative else chunk.astype(self.dtype.newbyteorder("="))


class _Text:
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


class InputFile:
    """An input file opened for chunked reading (build it with :func:`open_input`; use it as a context manager).

    Attributes: ``names`` (the arrays' names, in order), ``n_rows``, ``row_shapes`` and ``dtypes`` by name.
    """

    def __init__(self, path, streams: dict[str, Any], closers: list):
        self.path, self._streams, self._closers, self.names = str(path), streams, closers, list(streams)
        counts = {name: s.n_rows for name, s in streams.items()}
        if len(set(counts.values())) > 1:
            self.close()
            raise error(str(path), "the same number of rows in every array", got=str(counts))
        self.n_rows = next(iter(counts.values()))
        self.row_shapes = {name: s.row_shape for name, s in streams.items()}
        self.dtypes = {name: s.dtype for name, s in streams.items()}
        self._next = 0

    def chunks(self, rows: int) -> Iterator[tuple[int, Any]]:
        """``(first_row, x)`` for consecutive chunks of at most ``rows`` rows; ``x`` is an array, or a dict
        by name when the file holds several arrays. Each chunk is a fresh array."""
        while self._next < self.n_rows:
            start, k = self._next, min(rows, self.n_rows - self._next)
            parts = {name: s.read(k) for name, s in self._streams.items()}
            self._next += k
            yield start, parts if len(parts) > 1 else parts[self.names[0]]

    def read_all(self) -> Any:
        """The whole remaining input in memory (an array, or a dict by name)."""
        return next(self.chunks(max(self.n_rows - self._next, 1)))[1]

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers = []

    def __enter__(self) -> InputFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_input(path: str | os.PathLike, *, names: list[str] | None = None, row_shape=None, dtype="float32",
               argument: str = "INPUT") -> InputFile:
    """Open an input file for :class:`InputFile` chunked reading.

    Arguments:
        names: the model's input names. An ``.npz`` must hold exactly these arrays (or one array for a
            single-input model); ``None`` takes the ``.npz`` members as they are.
        row_shape, dtype: for ``.csv``/``.txt`` only: the declared shape of one row without the batch axis
            (one ``None`` is inferred; ``None``: each line is one 1-D row) and the dtype to parse into
            (integers refuse fractions: token ids for an ``Embedding`` model).
    """
    ext = extension(path, INPUT_FORMATS, argument)
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed by InputFile.close
    except OSError as exc:
        raise error(argument, "a readable file", got=f"{str(path)!r} ({exc.strerror})") from None
    try:
        if ext == ".npy":
            shape, dt = _npy_header(fp, os.fstat(fp.fileno()).st_size, argument)
            return InputFile(path, {(names or ["x"])[0]: _Binary(fp, shape, dt)}, [fp.close])
        if ext in (".csv", ".txt"):
            return InputFile(path, {(names or ["x"])[0]: _Text(fp, argument, row_shape, dtype, ext == ".csv")},
                             [fp.close])
        return _open_npz(path, fp, names, argument)
    except BaseException:
        fp.close()
        raise


def _open_npz(path, fp, names, argument) -> InputFile:
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise error(argument, "an .npz (zip) file", got=f"a file that is not one ({exc})") from None
    members = archive.infolist()
    if len(members) > MAX_MEMBERS or any(not m.filename.endswith(".npy") for m in members):
        raise error(argument, f"an .npz of at most {MAX_MEMBERS} .npy arrays",
                    got=f"{len(members)} members {[m.filename[:60] for m in members[:8]]}")
    by_name = {m.filename[:-4]: m for m in members}
    if names is not None and sorted(by_name) != sorted(names):
        if not (len(names) == 1 and len(by_name) == 1):
            raise error(argument, f"arrays named {sorted(names)} (the model's inputs)", got=f"{sorted(by_name)}")
        by_name = {names[0]: members[0]}
    streams, closers = {}, [archive.close]
    try:
        for name in names or sorted(by_name):
            member = archive.open(by_name[name])
            closers.append(member.close)
            shape, dt = _npy_header(member, by_name[name].file_size, f"{argument}[{name!r}]")
            streams[name] = _Binary(member, shape, dt)
    except (zipfile.BadZipFile, NotImplementedError, OSError) as exc:
        for close in reversed(closers):
            close()
        raise error(argument, "a readable .npz file", got=f"a damaged one ({str(exc)[:100]})") from None
    return InputFile(path, streams, closers)


# -- outputs --------------------------------------------------------------------------------------------------------


def _parts(result: Any, names: list[str] | None) -> list[tuple[str, np.ndarray]]:
    """A model's result (array, list, tuple or dict) as ``[(name, array)]``."""
    if isinstance(result, dict):
        return [(str(k), np.asarray(v)) for k, v in result.items()]
    arrays = list(result) if isinstance(result, (list, tuple)) else [result]
    labels = names if names and len(names) == len(arrays) else [f"output_{i}" for i in range(len(arrays))]
    return [(n, np.asarray(a)) for n, a in zip(labels, arrays, strict=True)]


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
        parts = _parts(result, self.names)
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
