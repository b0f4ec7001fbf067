"""The chunked input readers of :mod:`refgru.datafiles`: ``.npy``, ``.npz`` (by name) and ``.csv``/``.txt``.

Nothing here unpickles: ``.npy`` headers are parsed with ``numpy.lib.format.read_magic`` /
``read_array_header_*`` and checked (a plain numeric dtype, C order, at most ``MAX_NDIM`` axes, a file
or ``.npz`` member exactly as long as the header says) before a byte of data is read. Rows are then
read with ``readinto`` into a fresh chunk, so no mapped page of the input stays resident.
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import Any, Iterator

import numpy as np
from numpy.lib import format as npy_format

from ..errors import RefgruError, error
from .checks import extension
from .text import TextRows

INPUT_FORMATS = (".npy", ".npz", ".csv", ".txt")
MAX_NDIM = 32          # axes an input array may declare
MAX_MEMBERS = 256      # arrays an .npz input may hold
MAX_READ_BYTES = 1 << 30  # bytes read_arrays reads whole (weights, small inputs)


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
            return InputFile(path, {(names or ["x"])[0]: TextRows(fp, argument, row_shape, dtype, ext == ".csv")},
                             [fp.close])
        return _open_npz(path, fp, names, argument)
    except BaseException:
        fp.close()
        raise


def _open_npz(path, fp, names, argument) -> InputFile:
    return InputFile(path, *_npz_streams(fp, names, argument))


def _npz_streams(fp, names, argument) -> tuple[dict[str, _Binary], list]:
    """The checked ``.npy`` members of the ``.npz`` in ``fp`` (by ``names``, or all, sorted) and their closers."""
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise error(argument, "an .npz (zip) file", got=f"a file that is not one ({exc})") from None
    members = archive.infolist()
    if len(members) > MAX_MEMBERS or any(not m.filename.endswith(".npy") for m in members):
        archive.close()
        raise error(argument, f"an .npz of at most {MAX_MEMBERS} .npy arrays",
                    got=f"{len(members)} members {[m.filename[:60] for m in members[:8]]}")
    by_name = {m.filename[:-4]: m for m in members}
    if names is not None and sorted(by_name) != sorted(names):
        if not (len(names) == 1 and len(by_name) == 1):
            archive.close()
            raise error(argument, f"arrays named {sorted(names)} (the model's inputs)", got=f"{sorted(by_name)}")
        by_name = {names[0]: members[0]}
    streams, closers = {}, [archive.close]
    try:
        for name in names or sorted(by_name):
            member = archive.open(by_name[name])
            closers.append(member.close)
            shape, dt = _npy_header(member, by_name[name].file_size, f"{argument}[{name!r}]")
            streams[name] = _Binary(member, shape, dt)
    except BaseException as exc:
        for close in reversed(closers):
            close()
        if isinstance(exc, (zipfile.BadZipFile, NotImplementedError, OSError)):
            raise error(argument, "a readable .npz file", got=f"a damaged one ({str(exc)[:100]})") from None
        raise
    return streams, closers


def read_arrays(path: str | os.PathLike, *, argument: str = "FILE", max_bytes: int = MAX_READ_BYTES,
                formats: tuple[str, ...] = (".npy", ".npz")) -> dict[str, np.ndarray]:
    """Every array of a small ``.npy`` (named ``"x"``) or ``.npz`` file, whole (arrays may differ in rows).

    Headers are checked as by :func:`open_input`, and their total size must stay within ``max_bytes``
    before a byte of data is read: a header (or zip entry) that declares terabytes is one error."""
    ext = extension(path, formats, argument)
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise error(argument, "a readable file", got=f"{str(path)!r} ({exc.strerror})") from None
    closers = [fp.close]
    try:
        if ext == ".npy":
            streams = {"x": _Binary(fp, *_npy_header(fp, os.fstat(fp.fileno()).st_size, argument))}
        else:
            streams, more = _npz_streams(fp, None, argument)
            closers += more
        total = sum(s.n_rows * math.prod(s.row_shape) * s.dtype.itemsize for s in streams.values())
        if total > max_bytes:
            raise error(argument, f"arrays of at most {max_bytes >> 20} MB in all",
                        got=f"headers declaring {total / 2**20:.4g} MB in {str(path)!r}")
        return {name: s.read(s.n_rows) for name, s in streams.items()}
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise error(argument, "a readable file", got=f"a damaged one ({str(exc)[:100]})") from None
    finally:
        for close in reversed(closers):
            close()
