"""The shared validators: every check of a caller's (or a file's) value that more than one module needs.

Each raises :class:`refgru.RefgruError` built by :func:`refgru.errors.error`. NumPy only.
"""

from __future__ import annotations

import numpy as np

from .errors import describe, error


def check_flag(argument: str, value: object) -> bool:
    """``value`` as a bool; anything but ``True``, ``False`` (or a NumPy bool) raises."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(argument, "True or False", value)
    return bool(value)


def check_choice(argument: str, value: object, choices, expected: str | None = None):
    """``value`` if it is one of ``choices`` (hashable values; bools never match ints), else raise."""
    if isinstance(value, (bool, np.bool_)) and not any(isinstance(c, bool) for c in choices):
        raise error(argument, expected or f"one of {sorted(choices)}", value)
    try:
        ok = value in choices
    except TypeError:  # unhashable
        ok = False
    if not ok:
        raise error(argument, expected or f"one of {sorted(choices)}", value)
    return value


def check_index(argument: str, value: object, expected: str = "an index >= 0") -> int:
    """A non-negative integer (not a bool), as ``int``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise error(argument, expected, value)
    return int(value)


def as_numeric(name: str, value: object, expected: str = "a numeric array", kinds: str = "biuf",
               finite: bool = True) -> np.ndarray:
    """``value`` as an array whose dtype kind is in ``kinds``, in native byte order; NaN and inf refused.

    Lists of lists work; ragged lists, object, string and complex arrays raise :class:`RefgruError`
    naming ``name``. The result may share memory with ``value``.
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = "its rows differ in length" if "inhomogeneous" in reason else reason[:100]
        raise error(name, expected, got=f"{describe(value)} that is not a rectangular array ({reason})") from None
    if array.dtype.kind not in kinds:
        raise error(name, expected, array)
    if not array.dtype.isnative:  # big-endian input: compute, and return results, in native byte order
        array = array.astype(array.dtype.newbyteorder("="))
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        raise error(name, "finite values (refgru refuses NaN and inf; Keras would propagate them)",
                    got=f"{describe(array)} holding {nan} NaN and {inf} inf values")
    return array


def as_float_array(name: str, value: object) -> np.ndarray:
    """A finite floating-point array: a read-only copy, so that no caller can change it afterwards."""
    array = as_numeric(name, value, "a floating-point array", kinds="f").copy()
    array.flags.writeable = False
    return array


def check_gru_arrays(kernel: object, recurrent_kernel: object, bias: object = None,
                     reset_after: object = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, bool]:
    """The three arrays of one Keras GRU layer, checked against each other; ``reset_after`` resolved.

    Returns read-only copies ``(kernel (F, 3u), recurrent_kernel (u, 3u), bias (2, 3u) | (3u,) | None,
    reset_after)``. ``reset_after=None`` is inferred from the bias: ``(2, 3u)`` True, ``(3u,)`` False,
    no bias True (the Keras default); an explicit value must agree with the bias.
    """
    kernel = as_float_array("kernel", kernel)
    recurrent = as_float_array("recurrent_kernel", recurrent_kernel)
    if kernel.ndim != 2 or kernel.shape[1] % 3 or kernel.shape[1] == 0:
        raise error("kernel", "shape (input_dim, 3 * units) with units >= 1", kernel)
    u = kernel.shape[1] // 3
    if recurrent.shape != (u, 3 * u):
        raise error("recurrent_kernel", f"shape ({u}, {3 * u}) to match kernel {kernel.shape}", recurrent)
    if recurrent.dtype != kernel.dtype:
        raise error("recurrent_kernel", f"dtype {kernel.dtype} like kernel", recurrent)
    bias = None if bias is None else as_float_array("bias", bias)
    if bias is not None and bias.dtype != kernel.dtype:
        raise error("bias", f"dtype {kernel.dtype} like kernel", bias)
    if bias is not None and bias.shape not in ((2, 3 * u), (3 * u,)):
        raise error("bias", f"shape (2, {3 * u}) (reset_after=True) or ({3 * u},) (reset_after=False) "
                    f"for units={u}", bias)
    implied = True if bias is None else bias.ndim == 2
    if reset_after is not None and not isinstance(reset_after, (bool, np.bool_)):
        raise error("reset_after", "True, False or None", reset_after)
    if reset_after is not None and bias is not None and bool(reset_after) != implied:
        raise error("reset_after", f"{implied} for a bias of shape {bias.shape}", bool(reset_after))
    return kernel, recurrent, bias, implied if reset_after is None else bool(reset_after)


__all__ = ["as_float_array", "as_numeric", "check_choice", "check_flag", "check_gru_arrays", "check_index"]
