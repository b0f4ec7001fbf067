"""The command line's file readers: ``.npz`` / ``.npy`` through ``np.load(allow_pickle=False)`` only.

No code from a file runs, and every failure is one :class:`RefgruError` naming the argument.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import error, quote

#: Accepted ``get_weights()`` keys in an ``.npz``: ``np.savez(path, *weights)``, or by name.
WEIGHT_KEYS = (("arr_0", "arr_1", "arr_2"), ("kernel", "recurrent_kernel", "bias"))
_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")


def read_numpy(argument: str, path: str, what: str):
    """``np.load(path, allow_pickle=False)`` (an array or an ``NpzFile``), every failure one RefgruError."""
    if not Path(path).is_file():
        raise error(argument, f"an existing {what} file", got=f"{quote(path)}, which does not exist or is not a file")
    with open(path, "rb") as f:
        magic = f.read(6)
    if not magic.startswith(_MAGIC):
        raise error(argument, f"a NumPy {what} file",
                    got=f"{quote(path)}, which is neither an .npz (zip) nor an .npy file")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(argument, f"a NumPy {what} file",
                    got=f"{quote(path)}, which NumPy cannot read ({reason})") from None


def _member(argument: str, path: str, archive, name: str) -> np.ndarray:
    try:
        return archive[name]
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise error(argument, "plain numeric arrays", got=f"{quote(path)}: {str(exc).splitlines()[0]}") from None


def load_weights_npz(path: str, argument: str = "FILE") -> list[np.ndarray]:
    """The ``get_weights()`` list stored in an ``.npz``: ``[kernel, recurrent_kernel(, bias)]``."""
    archive = read_numpy(argument, path, ".npz")
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise error(argument, "an .npz archive of the get_weights() arrays (np.savez)",
                    got=f"{quote(path)}, a single .npy array")
    with archive:
        keys = set(archive.files)
        for names in WEIGHT_KEYS:
            if keys in (set(names), set(names[:2])):
                return [_member(argument, path, archive, name) for name in names if name in keys]
    expected = " or ".join("/".join(names) for names in WEIGHT_KEYS) + " (bias optional)"
    raise error(argument, f"an .npz with keys {expected}", got=f"keys {quote(sorted(keys))} in {quote(path)}")


def load_input_npy(path: str, argument: str = "X") -> np.ndarray:
    """An input array ``(T, input_dim)`` or ``(B, T, input_dim)`` from a ``.npy`` file."""
    array = read_numpy(argument, path, ".npy")
    if not isinstance(array, np.ndarray):
        array.close()
        raise error(argument, "a .npy file holding one array", got=f"{quote(path)}, an .npz archive")
    return array


def load_model_input(path: str, input_names: list[str], argument: str = "INPUT"):
    """A model's input: one ``.npy`` array, or an ``.npz`` keyed by input name (or ``arr_0, arr_1, ...``)."""
    data = read_numpy(argument, path, ".npy or .npz")
    if isinstance(data, np.ndarray):
        return data
    with data:
        keys = list(data.keys())
        if all(name in keys for name in input_names):
            return {name: _member(argument, path, data, name) for name in input_names}
        positional = [f"arr_{i}" for i in range(len(input_names))]
        if keys == positional:
            return [_member(argument, path, data, k) for k in positional]
    raise error(argument, f"a .npz with arrays named {quote(input_names, 300)} (or {positional})",
                got=quote(keys, 300))


__all__ = ["WEIGHT_KEYS", "load_input_npy", "load_model_input", "load_weights_npz", "read_numpy"]
