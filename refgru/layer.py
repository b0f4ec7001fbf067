"""``gru``: run a whole sequence through the step math, with Keras's masking and direction rules."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import fast
from .activations import Activation, check_keras_version, get_activation
from .cell import cell, project_inputs
from .errors import error
from .weights import GRUWeights, as_numeric, as_weights

#: Inputs are projected (``x @ kernel + b``) this many elements at a time, so memory does not grow with T.
PROJECTION_CHUNK_ELEMENTS = 1 << 20


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise error(name, "True or False", value)
    return bool(value)


def check_input(x: object, w: GRUWeights) -> np.ndarray:
    """``x`` as a ``(B, T, input_dim)`` float array in the compute dtype.

    Integer and bool inputs are cast to the weights' dtype; float inputs combine with it by NumPy's
    promotion (float32 with float32 stays float32, float64 input stays float64).
    """
    array = as_numeric("x", x, "a numeric array of shape (batch, time, features)")
    if array.ndim != 3:
        raise error("x", "3 dimensions (batch, time, features)", array)
    if array.shape[2] != w.input_dim:
        raise error("x", f"features = {w.input_dim} (the kernel's input_dim), shape (B, T, {w.input_dim})", array)
    if array.shape[1] == 0:
        raise error("x", "at least one time step", array)
    dtype = np.result_type(array.dtype, w.dtype) if array.dtype.kind == "f" else w.dtype
    return array.astype(dtype, copy=False)


def check_initial_state(initial_state: object, batch: int, w: GRUWeights, dtype: np.dtype) -> np.ndarray:
    """``initial_state`` as ``(B, u)``; ``None`` means zeros. A one-element list is unwrapped."""
    if initial_state is None:
        return np.zeros((batch, w.units), dtype)
    if isinstance(initial_state, (list, tuple)):
        if len(initial_state) != 1:
            raise error("initial_state", "one (B, u) array or a one-element list of it", initial_state)
        initial_state = initial_state[0]
    state = as_numeric("initial_state", initial_state)
    if state.shape != (batch, w.units):
        raise error("initial_state", f"shape ({batch}, {w.units}) = (batch, units)", state)
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


def run(x: np.ndarray, w: GRUWeights, h: np.ndarray, act: Activation, ract: Activation, *,
        mask: np.ndarray | None, return_sequences: bool, zero_output_for_mask: bool) -> tuple[np.ndarray, np.ndarray]:
    """Drive the step math over the time axis of checked inputs, in processing order.

    ``x`` ``(B, T, input_dim)`` and ``h`` ``(B, u)`` are in the compute dtype. A layer with a ``tanh``
    candidate and ``sigmoid`` gates runs in :func:`refgru.fast.run` (the same math, about ten NumPy
    calls per step, tested against this loop); any other activations loop over :func:`refgru.cell.cell`.

    Returns ``(output, state)``: the output is ``(B, T, u)`` with ``return_sequences``, otherwise the
    last element of that sequence ``(B, u)``. At a masked step the state is carried; the output is
    the previous output (zeros before the first unmasked step), or zeros with ``zero_output_for_mask``.
    """
    if fast.supports(act, ract):
        return fast.run(x, w, h, mask=mask, return_sequences=return_sequences,
                        zero_output_for_mask=zero_output_for_mask, chunk_elements=PROJECTION_CHUNK_ELEMENTS)
    batch, steps, _ = x.shape
    dtype = h.dtype
    outputs = np.empty((batch, steps, w.units), dtype) if return_sequences else None
    output = np.zeros((batch, w.units), dtype)
    chunk = max(1, PROJECTION_CHUNK_ELEMENTS // max(1, batch * 3 * w.units))
    for start in range(0, steps, chunk):
        x_proj = project_inputs(x[:, start : start + chunk], w)
        for i in range(x_proj.shape[1]):
            h_new = cell(x_proj[:, i], h, w, act, ract)
            if mask is None:
                h = output = h_new
            else:
                keep = mask[:, start + i, None]
                h = np.where(keep, h_new, h)
                output = np.where(keep, h_new, 0 if zero_output_for_mask else output).astype(dtype, copy=False)
            if outputs is not None:
                outputs[:, start + i] = output
    if outputs is None and output is h:
        output = h.copy()  # output and state are separate arrays, as in Keras
    return (output if outputs is None else outputs), h


def gru(x: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, *, reset_after: bool | None = None,
        activation: str | Activation = "tanh", recurrent_activation: str | Activation = "sigmoid",
        return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
        initial_state: np.ndarray | Sequence[np.ndarray] | None = None, mask: np.ndarray | None = None,
        zero_output_for_mask: bool = False, keras_version: int = 3):
    """Run a Keras GRU layer over ``x``, with the weights ``GRU.get_weights()`` returned.

    Arguments:
        x: ``(B, T, input_dim)`` inputs. Integer input is cast to the weights' dtype.
        weights: ``[kernel (input_dim, 3u), recurrent_kernel (u, 3u), bias (2, 3u) | (3u,)]``, the
            same without ``bias`` for ``use_bias=False``, or a :class:`GRUWeights`.
        reset_after: ``None`` infers it from the bias shape; see :class:`GRUWeights`.
        activation: the candidate activation (Keras name or callable), default ``"tanh"``.
        recurrent_activation: the gate activation for ``z`` and ``r``, default ``"sigmoid"``.
        return_sequences: return ``(B, T, u)`` (one output per step, in processing order) instead
            of ``(B, u)``.
        return_state: also return the final state ``(B, u)``.
        go_backwards: process ``x`` (and ``mask``) from the last step to the first. Outputs stay in
            processing order: ``out[:, t]`` belongs to input step ``T - 1 - t``.
        initial_state: ``(B, u)`` or ``[(B, u)]``; zeros by default.
        mask: bool ``(B, T)``; a masked step keeps the previous state, and its output repeats the
            previous output (zeros before the first unmasked step).
        zero_output_for_mask: masked steps output zeros instead (what Bidirectional uses).
        keras_version: 3 (Keras 3) or 2 (tf-keras); decides ``hard_sigmoid`` and the container type.

    Returns:
        ``output``: ``(B, u)`` or ``(B, T, u)``. With ``return_state``, ``(output, state)`` as a tuple
        for ``keras_version=3`` and ``[output, state]`` as a list for ``keras_version=2``, as each
        Keras returns it.
    """
    keras_version = check_keras_version(keras_version)
    w = as_weights(weights, reset_after)
    act = get_activation(activation, keras_version, "activation")
    ract = get_activation(recurrent_activation, keras_version, "recurrent_activation")
    flags = {name: _check_flag(name, value) for name, value in [
        ("return_sequences", return_sequences), ("return_state", return_state),
        ("go_backwards", go_backwards), ("zero_output_for_mask", zero_output_for_mask)]}
    x = check_input(x, w)
    batch, steps, _ = x.shape
    h0 = check_initial_state(initial_state, batch, w, x.dtype)
    mask = check_mask(mask, batch, steps)
    if flags["go_backwards"]:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    output, state = run(x, w, h0, act, ract, mask=mask, return_sequences=flags["return_sequences"],
                        zero_output_for_mask=flags["zero_output_for_mask"])
    if not flags["return_state"]:
        return output
    return (output, state) if keras_version == 3 else [output, state]
