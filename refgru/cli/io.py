"""The command line's small-file readers (weights, ``trace`` inputs), on :mod:`refgru.datafiles`' checked parsing.

``.npy`` headers and ``.npz`` members are parsed and checked by :func:`refgru.datafiles.read_arrays`
(a numeric dtype, a size that matches the file, at most ``MAX_CLI_BYTES`` in all) before any data is
read. Nothing is unpickled, no code from a file runs, and every failure is one :class:`RefgruError`.
"""

from __future__ import annotations

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


__all__ = ["MAX_CLI_BYTES", "WEIGHT_KEYS", "load_input_npy", "load_weights_npz"]
