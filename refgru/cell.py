"""One GRU time step: the whole of the math, in Keras's names and gate order ``[z, r, h]``.

With ``x_z, x_r, x_h`` the column blocks of ``x_t @ kernel + b`` (``b = [b_z | b_r | b_h]``)::

    reset_after=True (Keras default, cuDNN-compatible):
        z  = recurrent_activation(x_z + h_tm1 @ U_z + rb_z)
        r  = recurrent_activation(x_r + h_tm1 @ U_r + rb_r)
        hh = activation(x_h + r * (h_tm1 @ U_h + rb_h))
    reset_after=False:
        z  = recurrent_activation(x_z + h_tm1 @ U_z)
        r  = recurrent_activation(x_r + h_tm1 @ U_r)
        hh = activation(x_h + (r * h_tm1) @ U_h)
    both:
        h  = z * h_tm1 + (1 - z) * hh
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .activations import Activation, get_activation
from .errors import error
from .weights import GRUWeights, as_numeric, as_weights


class StepGates(NamedTuple):
    """Everything one step computes, each ``(B, u)``.

    ``x_z, x_r, x_h`` are the input parts (``x_t @ W + b``); ``rec_z, rec_r`` are the recurrent parts
    added before the gate activation; ``rec_h`` is what is added to ``x_h`` inside the candidate's
    activation (``r * (h_tm1 @ U_h + rb_h)`` or ``(r * h_tm1) @ U_h``).
    """

    h: np.ndarray
    z: np.ndarray
    r: np.ndarray
    hh: np.ndarray
    x_z: np.ndarray
    x_r: np.ndarray
    x_h: np.ndarray
    rec_z: np.ndarray
    rec_r: np.ndarray
    rec_h: np.ndarray


def project_inputs(x: np.ndarray, w: GRUWeights) -> np.ndarray:
    """``x @ kernel + b`` for ``x`` of shape ``(..., input_dim)``: the ``[x_z | x_r | x_h]`` blocks ``(..., 3u)``."""
    x_proj = x @ w.kernel
    if w.input_bias is not None:
        x_proj += w.input_bias
    return x_proj


def cell(x_proj: np.ndarray, h_tm1: np.ndarray, w: GRUWeights, activation: Activation,
         recurrent_activation: Activation, gates: bool = False) -> np.ndarray | StepGates:
    """The step math on pre-projected inputs ``x_proj = x_t @ kernel + b`` ``(B, 3u)``; ``h_tm1`` is ``(B, u)``."""
    u = w.units
    x_z, x_r, x_h = x_proj[:, :u], x_proj[:, u : 2 * u], x_proj[:, 2 * u :]
    if w.reset_after:
        hU = h_tm1 @ w.recurrent_kernel
        if w.recurrent_bias is not None:
            hU += w.recurrent_bias
        rec_z, rec_r = hU[:, :u], hU[:, u : 2 * u]
    else:
        hU = h_tm1 @ w.recurrent_kernel[:, : 2 * u]
        rec_z, rec_r = hU[:, :u], hU[:, u:]
    z = recurrent_activation(x_z + rec_z)
    r = recurrent_activation(x_r + rec_r)
    if w.reset_after:  # the one line where the variants differ: reset after or before U_h
        rec_h = r * hU[:, 2 * u :]
    else:
        rec_h = (r * h_tm1) @ w.U_h
    hh = activation(x_h + rec_h)
    h = z * h_tm1 + (1 - z) * hh
    if not gates:
        return h
    return StepGates(h, z, r, hh, x_z, x_r, x_h, rec_z, rec_r, rec_h)


def _as_2d(name: str, value: object, width: int, width_name: str, dtype: np.dtype, batch: int | None = None) -> np.ndarray:
    array = as_numeric(name, value)
    rows = "B" if batch is None else str(batch)
    if array.ndim != 2 or array.shape[1] != width or (batch is not None and array.shape[0] != batch):
        raise error(name, f"shape ({rows}, {width}) with {width} = {width_name}", array)
    return array.astype(np.result_type(array.dtype, dtype) if array.dtype.kind == "f" else dtype, copy=False)


def gru_step(x_t: np.ndarray, h_tm1: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, *,
             reset_after: bool | None = None, activation: str | Activation = "tanh",
             recurrent_activation: str | Activation = "sigmoid", keras_version: int = 3,
             return_gates: bool = False) -> np.ndarray | StepGates:
    """One GRU time step, exactly as ``keras.layers.GRUCell``.

    Arguments:
        x_t: ``(B, input_dim)`` the input at this step.
        h_tm1: ``(B, u)`` the previous state ``h_{t-1}``.
        weights: ``GRU.get_weights()`` or a :class:`GRUWeights`.
        reset_after, activation, recurrent_activation, keras_version: as in :func:`refgru.gru`.
        return_gates: also return ``z``, ``r``, ``hh`` and the pre-activation parts.

    Returns:
        ``h`` ``(B, u)``, or a :class:`StepGates` with ``h, z, r, hh, x_z, x_r, x_h, rec_z, rec_r, rec_h``.
    """
    w = as_weights(weights, reset_after)
    act = get_activation(activation, keras_version, "activation")
    ract = get_activation(recurrent_activation, keras_version, "recurrent_activation")
    x_t = _as_2d("x_t", x_t, w.input_dim, "the kernel's input_dim", w.dtype)
    dtype = np.result_type(x_t.dtype, w.dtype)
    h_tm1 = _as_2d("h_tm1", h_tm1, w.units, "units", dtype, batch=x_t.shape[0]).astype(dtype, copy=False)
    return cell(project_inputs(x_t.astype(dtype, copy=False), w), h_tm1, w, act, ract, gates=return_gates)
