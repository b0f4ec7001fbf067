"""The command line's small-file readers (weights, ``trace`` inputs), on :mod:`refgru.datafiles`' checked parsing.

``.npy`` headers and ``.npz`` members are parsed and checked by :func:`refgru.datafiles.read_arrays`
(a numeric dtype, a size that matches the file, at most ``MAX_CLI_BYTES`` in all) before any data is
read. Nothing is unpickled, no code from a file runs, and every failure is one :class:`RefgruError`.
"""

from __future__ import annotations

import zipfile

import numpy as np

from ..datafiles import read_arrays
from ..errors import error, quote

#: Accepted ``get_weights()`` keys in an ``.npz``: ``np.savez(path, *weights)``, or by name.
WEIGHT_KEYS = (("arr_0", "arr_1", "arr_2"), ("kernel", "recurrent_kernel", "bias"))
#: Bytes a weights file or ``trace`` input may hold (their arrays are read whole).
MAX_CLI_BYTES = 256 << 20


def load_weights_npz(path: str, argument: str = "FILE") -> list[np.ndarray]:
    """The ``get_weights()`` list stored in an ``.npz``: ``[kernel, recurrent_kernel(, bias)]``."""
    arrays = read_arrays(path, argument=argument, max_bytes=MAX_CLI_BYTES, formats=(".npz",))
    keys = set(arrays)
    for names in WEIGHT_KEYS:
        if keys in (set(names), set(names[:2])):
            return [arrays[name] for name in names if name in keys]
    expected = " or ".join("/".join(names) for names in WEIGHT_KEYS) + " (bias optional)"
    raise error(argument, f"an .npz with keys {expected}", got=f"keys {quote(sorted(keys))} in {quote(path)}")


def load_input_npy(path: str, argument: str = "X") -> np.ndarray:
    """An input array ``(T, input_dim)`` or ``(B, T, input_dim)`` from a ``.npy`` file."""
    return read_arrays(path, argument=argument, max_bytes=MAX_CLI_BYTES, formats=(".npy",))["x"]


def load_model_input(path: str, input_names: list[str], argument: str = "INPUT"):
    """A model's input: one ``.npy`` array, or an ``.npz`` keyed by input name (or ``arr_0, arr_1, ...``)."""
    arrays = read_arrays(path, argument=argument, max_bytes=MAX_CLI_BYTES)
    if str(path).lower().endswith(".npy"):
        return arrays["x"]
    keys = list(arrays)
    if all(name in keys for name in input_names):
        return {name: arrays[name] for name in input_names}
    positional = [f"arr_{i}" for i in range(len(input_names))]
    if keys == positional:
        return [arrays[k] for k in positional]
    raise error(argument, f"an .npz with arrays named {quote(input_names, 300)} (or {positional})",
                got=quote(keys, 300))


def read_npz(argument: str, path: str) -> np.lib.npyio.NpzFile:
    """``np.load(path, allow_pickle=False)`` of an ``.npz`` whose members declare at most ``MAX_CLI_BYTES`` in
    all (checked in the zip directory before anything is decompressed); every failure one RefgruError."""
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except OSError as exc:
        raise error(argument, "a readable file", got=f"{str(path)!r} ({exc.strerror})") from None
    except (zipfile.BadZipFile, ValueError):
        raise error(argument, "an .npz (zip) file", got="a file that is not one") from None
    if declared > MAX_CLI_BYTES:
        raise error(argument, f"arrays of at most {MAX_CLI_BYTES >> 20} MB in all",
                    got=f"headers declaring {declared / 2**20:.4g} MB in {str(path)!r}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(argument, "a NumPy .npz file", got=f"{quote(path)}, which NumPy cannot read ({reason})") from None


__all__ = ["MAX_CLI_BYTES", "WEIGHT_KEYS", "load_input_npy", "load_model_input", "load_weights_npz", "read_npz"]
