"""Validation of every array and flag a caller hands to the core; each failure is one :func:`refgru.errors.error`.

The functions take plain sizes (``input_dim``, ``units``, ``dtype``), not weights objects, so this
module sits below every other one in :mod:`refgru.core`. The converters, the ONNX code and the loader
use the same validators.
"""

from __future__ import annotations

import numpy as np

from ..errors import describe, error


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


def check_flag(name: str, value: object) -> bool:
    """``value`` as a bool; only ``True``, ``False`` (and NumPy bools) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(name, "True or False", value)
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

def check_input(x: object, input_dim: int, dtype: np.dtype) -> np.ndarray:
    """``x`` as a ``(B, T, input_dim)`` float array in the compute dtype.

    Integer and bool inputs are cast to the weights' ``dtype``; float inputs combine with it by NumPy's
    promotion (float32 with float32 stays float32, float64 input stays float64).
    """
    array = as_numeric("x", x, "a numeric array of shape (batch, time, features)")
    if array.ndim != 3:
        raise error("x", "3 dimensions (batch, time, features)", array)
    if array.shape[2] != input_dim:
        raise error("x", f"features = {input_dim} (the kernel's input_dim), shape (B, T, {input_dim})", array)
    if array.shape[1] == 0:
        raise error("x", "at least one time step", array)
    dtype = np.result_type(array.dtype, dtype) if array.dtype.kind == "f" else dtype
    return array.astype(dtype, copy=False)


def check_initial_state(initial_state: object, batch: int, units: int, dtype: np.dtype) -> np.ndarray:
    """``initial_state`` as ``(B, u)``; ``None`` means zeros. A one-element list is unwrapped."""
    if initial_state is None:
        return np.zeros((batch, units), dtype)
    if isinstance(initial_state, (list, tuple)):
        if len(initial_state) != 1:
            raise error("initial_state", "one (B, u) array or a one-element list of it", initial_state)
        initial_state = initial_state[0]
    state = as_numeric("initial_state", initial_state)
    if state.shape != (batch, units):
        raise error("initial_state", f"shape ({batch}, {units}) = (batch, units)", state)
    return state.astype(dtype, copy=True)


def check_mask(mask: object, batch: int, steps: int) -> np.ndarray | None:
    """``mask`` as a bool ``(B, T)`` array. Integer or float masks must hold only 0 and 1."""
    if mask is None:
        return None
    array = as_numeric("mask", mask, "a bool array of shape (batch, time)", finite=False)
    if array.shape != (batch, steps):
        raise error("mask", f"shape ({batch}, {steps}) = (batch, time)", array)
    if array.dtype.kind == "b":
        return array
    if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
        raise error("mask", "a bool array (or one holding only 0 and 1)", array)
    return array.astype(bool)




def check_upstream(name: str, value: object, shape: tuple[int, ...], what: str, dtype: np.dtype) -> np.ndarray:
    """An upstream gradient ``value`` of exactly ``shape`` (``what`` names the tensor it belongs to)."""
    array = as_numeric(name, value, f"a numeric array of shape {shape} ({what})")
    if array.shape != shape:
        raise error(name, f"shape {shape} ({what})", array)
    return array.astype(dtype, copy=False)


__all__ = ["as_float_array", "as_numeric", "check_choice", "check_flag", "check_gru_arrays", "check_index",
           "check_initial_state", "check_input", "check_mask", "check_upstream"]
