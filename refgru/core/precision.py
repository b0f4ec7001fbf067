"""Reduced-precision compute (``float16``, ``bfloat16``): a GRU step that rounds every op as Keras on CPU does.

Under a ``mixed_float16`` / ``mixed_bfloat16`` policy (or a layer saved with ``dtype="float16"``) Keras
keeps float32 variables, casts the layer's inputs and, inside ``call``, its variables to the compute
dtype, and every op then returns a compute-dtype tensor. What TensorFlow does on CPU, measured (and
pinned by tests/test_mixed_precision.py):

- ``MatMul`` in float16/bfloat16 accumulates in float32 and rounds the result once: it equals
  ``round(float32(a) @ float32(b))`` bit for bit;
- ``+ - *`` are rounded once (exact in float32, then rounded);
- ``Tanh`` is correctly rounded: ``round(tanh(float32(a)))``;
- ``Sigmoid`` is computed in the compute dtype as ``e / (1 + e)`` with ``e = exp(a)``, each of the
  three ops rounded (so ``1`` once ``exp`` overflows); this differs from a rounded float32 sigmoid
  for about a quarter of float16 inputs, by one unit in the last place.

refgru carries the values in **float32 arrays holding exactly representable float16 or bfloat16
values**: every op runs in float32 and its result is rounded by :func:`rounder` (float16 through NumPy's
``float16``; bfloat16, which NumPy lacks, by :func:`round_bfloat16`). :func:`rounded_cell` is
:func:`refgru.core.cell.cell` with that rounding after each op, in Keras's op order, and
:class:`RoundingKernel` is its step kernel for :func:`refgru.core.sequence.run`.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .activation_fns import sigmoid
from .activations import Activation
from .cell import StepGates
from .weights import GRUWeights

#: The compute dtypes refgru emulates on float32 carriers.
REDUCED = ("float16", "bfloat16")


def round_bfloat16(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to the nearest bfloat16 (ties to even), returned as float32.

    Method: bfloat16 is the top 16 bits of a float32. On the float32 bit pattern ``b`` (``uint32``),
    ``b + 0x7FFF + ((b >> 16) & 1)`` rounds the low 16 bits to nearest, ties to the even upper half
    (a carry into the exponent is the correct round-up, to infinity past the largest bfloat16); then
    the low 16 bits are cleared. NaNs stay NaN (quiet, sign kept); infinities and zeros are unchanged.
    """
    x32 = np.asarray(x, dtype=np.float32)
    bits = x32.view(np.uint32)
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000))
    nan = np.isnan(x32)
    if nan.any():
        rounded = np.where(nan, (bits | np.uint32(0x00400000)) & np.uint32(0xFFFF0000), rounded)
    return rounded.astype(np.uint32).view(np.float32).reshape(x32.shape)


def round_float16(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to the nearest float16 (IEEE, ties to even), returned as float32."""
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


ROUNDERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"float16": round_float16, "bfloat16": round_bfloat16}


def rounder(compute_dtype: str) -> Callable[[np.ndarray], np.ndarray]:
    """The function rounding a float32 array to ``compute_dtype`` (``"float16"`` or ``"bfloat16"``)."""
    return ROUNDERS[compute_dtype]


def rounded_activation(forward: Activation, q: Callable[[np.ndarray], np.ndarray]) -> Activation:
    """``forward`` as TensorFlow computes it in the compute dtype ``q`` rounds to (module docstring)."""
    if forward is sigmoid:
        def tf_sigmoid(a):
            with np.errstate(over="ignore", invalid="ignore"):
                e = q(np.exp(a))
                return np.where(np.isinf(e), np.float32(1), q(e / q(1 + e))).astype(np.float32)
        return tf_sigmoid
    return lambda a: q(forward(a))


def rounded_weights(w: GRUWeights, q: Callable[[np.ndarray], np.ndarray]) -> GRUWeights:
    """The float32 variables as the layer's ``call`` reads them: cast to the compute dtype."""
    return GRUWeights(q(w.kernel), q(w.recurrent_kernel), None if w.bias is None else q(w.bias), w.reset_after)


def rounded_cell(x_t: np.ndarray, h_tm1: np.ndarray, w: GRUWeights, activation: Activation,
                 recurrent_activation: Activation, q: Callable[[np.ndarray], np.ndarray],
                 gates: bool = False) -> np.ndarray | StepGates:
    """One GRU step (``x_t`` ``(B, F)``, ``h_tm1`` ``(B, u)``, all values already rounded), each op rounded by ``q``.

    ``w`` holds rounded weights (:func:`rounded_weights`), and the activations are rounded
    (:func:`rounded_activation`). The ops are those of :func:`refgru.core.cell.cell`, in Keras's order."""
    u = w.units
    x_proj = q(x_t @ w.kernel)
    if w.input_bias is not None:
        x_proj = q(x_proj + w.input_bias)
    x_z, x_r, x_h = x_proj[:, :u], x_proj[:, u : 2 * u], x_proj[:, 2 * u :]
    hU = q(h_tm1 @ (w.recurrent_kernel if w.reset_after else w.recurrent_kernel[:, : 2 * u]))
    if w.reset_after and w.recurrent_bias is not None:
        hU = q(hU + w.recurrent_bias)
    rec_z, rec_r = hU[:, :u], hU[:, u : 2 * u]
    z = recurrent_activation(q(x_z + rec_z))  # a_z
    r = recurrent_activation(q(x_r + rec_r))  # a_r
    rec_h = q(r * hU[:, 2 * u :]) if w.reset_after else q(q(r * h_tm1) @ w.U_h)
    hh = activation(q(x_h + rec_h))  # a_h
    h = q(q(z * h_tm1) + q(q(1 - z) * hh))
    if not gates:
        return h
    return StepGates(h, z, r, hh, x_z, x_r, x_h, rec_z, rec_r, rec_h)


class RoundingKernel:
    """The step kernel of :func:`refgru.core.sequence.run` computing in ``compute_dtype`` (module docstring).

    Inputs, initial states and weights are rounded once (Keras's casts), then each step is
    :func:`rounded_cell`. With ``record_gates``, each item's ``values`` is the step's :class:`StepGates`."""

    def __init__(self, w: GRUWeights, activation: Activation, recurrent_activation: Activation, compute_dtype: str,
                 record_gates: bool = False):
        self.q = q = rounder(compute_dtype)
        self.w = rounded_weights(w, q)
        self.act, self.ract = rounded_activation(activation, q), rounded_activation(recurrent_activation, q)
        self.record_gates = record_gates

    def steps(self, x: np.ndarray, initial_states: tuple[np.ndarray, ...]) -> Iterator[tuple]:
        (h,) = initial_states
        h = self.q(h)
        for i in range(x.shape[1]):
            step = rounded_cell(self.q(x[:, i]), h, self.w, self.act, self.ract, self.q, gates=self.record_gates)
            h_new = step.h if self.record_gates else step
            yield h_new, (h_new,), (h,), step if self.record_gates else None
            h = h_new


__all__ = ["REDUCED", "ROUNDERS", "RoundingKernel", "round_bfloat16", "round_float16", "rounded_activation",
           "rounded_cell", "rounded_weights", "rounder"]
