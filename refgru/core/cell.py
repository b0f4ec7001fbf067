"""One GRU time step, forwards (:func:`cell`) and backwards (:func:`cell_backward`), in Keras's names and gate order.

With ``x_z, x_r, x_h`` the column blocks of ``x_t @ kernel + b`` (``b = [b_z | b_r | b_h]``), the
recurrent parts ``rec_z, rec_r, rec_h`` and the pre-activations ``a_z, a_r, a_h``::

    reset_after=True (Keras default, cuDNN-compatible):
        rec_z = h_tm1 @ U_z + rb_z    rec_r = h_tm1 @ U_r + rb_r    rec_h = r * (h_tm1 @ U_h + rb_h)
    reset_after=False:
        rec_z = h_tm1 @ U_z           rec_r = h_tm1 @ U_r           rec_h = (r * h_tm1) @ U_h
    both:
        a_z = x_z + rec_z    z  = recurrent_activation(a_z)     update gate
        a_r = x_r + rec_r    r  = recurrent_activation(a_r)     reset gate
        a_h = x_h + rec_h    hh = activation(a_h)               candidate state
                             h  = z * h_tm1 + (1 - z) * hh      new state

:class:`CellKernel` is the step kernel of :func:`refgru.core.sequence.run` built on :func:`cell`.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

import numpy as np

from .activations import Activation, Vjp
from .weights import GRUWeights

#: Inputs are projected (``x @ kernel + b``) this many elements at a time, so memory does not grow with T.
PROJECTION_CHUNK_ELEMENTS = 1 << 20


class StepGates(NamedTuple):
    """Everything one step computes, each ``(B, u)``.

    ``x_z, x_r, x_h`` are the input parts (``x_t @ W + b``); ``rec_z, rec_r`` are the recurrent parts
    added before the gate activation; ``rec_h`` is what is added to ``x_h`` inside the candidate's
    activation (``r * (h_tm1 @ U_h + rb_h)`` or ``(r * h_tm1) @ U_h``). The pre-activations
    ``a_z, a_r, a_h`` are their sums.
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

    a_z = property(lambda self: self.x_z + self.rec_z, doc="``(B, u)`` pre-activation of z: ``x_z + rec_z``.")
    a_r = property(lambda self: self.x_r + self.rec_r, doc="``(B, u)`` pre-activation of r: ``x_r + rec_r``.")
    a_h = property(lambda self: self.x_h + self.rec_h, doc="``(B, u)`` pre-activation of hh: ``x_h + rec_h``.")


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
    z = recurrent_activation(x_z + rec_z)  # a_z
    r = recurrent_activation(x_r + rec_r)  # a_r
    if w.reset_after:  # the one line where the variants differ: reset after or before U_h
        rec_h = r * hU[:, 2 * u :]
    else:
        rec_h = (r * h_tm1) @ w.U_h
    hh = activation(x_h + rec_h)  # a_h
    h = z * h_tm1 + (1 - z) * hh
    if not gates:
        return h
    return StepGates(h, z, r, hh, x_z, x_r, x_h, rec_z, rec_r, rec_h)


class StepGradients(NamedTuple):
    """What one step sends back: ``d_x_proj (B, 3u) = [da_z | da_r | da_h]``, ``d_h_tm1 (B, u)``, and
    this step's share of ``d_recurrent_kernel (u, 3u)`` and ``d_recurrent_bias (3u,)`` (``None``
    unless ``reset_after`` with a bias)."""

    d_x_proj: np.ndarray
    d_h_tm1: np.ndarray
    d_recurrent_kernel: np.ndarray
    d_recurrent_bias: np.ndarray | None


def cell_backward(dh: np.ndarray, g: StepGates, h_tm1: np.ndarray, w: GRUWeights,
                  activation_vjp: Vjp, recurrent_activation_vjp: Vjp) -> StepGradients:
    """One step of :func:`cell`, backwards (docs/backward.md derives each line).

    Arguments:
        dh: ``(B, u)`` the gradient of the loss with respect to this step's new state ``h``.
        g: the step's :class:`StepGates` (``cell(..., gates=True)``), each field ``(B, u)``.
        h_tm1: ``(B, u)`` the state the step started from.
        w: the weights; ``activation_vjp``, ``recurrent_activation_vjp``: see
            :data:`refgru.core.activations.TABLE`.

    Returns:
        :class:`StepGradients`.
    """
    u = w.units  # the numbers 1.-6. are the steps of docs/backward.md
    dz = dh * (h_tm1 - g.hh)  # 1. h = z * h_tm1 + (1 - z) * hh
    dhh = dh * (1 - g.z)
    d_h_tm1 = dh * g.z
    da_z = recurrent_activation_vjp(g.a_z, g.z, dz)  # 2. the activations, at a_z and a_h
    da_h = activation_vjp(g.a_h, g.hh, dhh)
    d_recurrent_kernel = np.empty_like(w.recurrent_kernel, dtype=dh.dtype)
    d_recurrent_bias = None
    if w.reset_after:  # 3., 4., 6. with rec_h = r * hU_h
        hU_h = h_tm1 @ w.U_h
        if w.recurrent_bias is not None:
            hU_h += w.rb_h
        dr = da_h * hU_h
        da_r = recurrent_activation_vjp(g.a_r, g.r, dr)
        d_hU = np.concatenate([da_z, da_r, g.r * da_h], axis=1)
        d_recurrent_kernel[:] = h_tm1.T @ d_hU
        if w.recurrent_bias is not None:
            d_recurrent_bias = d_hU.sum(axis=0)
        d_h_tm1 += d_hU @ w.recurrent_kernel.T
    else:  # 3., 4., 6. with rec_h = (r * h_tm1) @ U_h
        d_rh = da_h @ w.U_h.T
        dr = d_rh * h_tm1
        d_h_tm1 += d_rh * g.r
        da_r = recurrent_activation_vjp(g.a_r, g.r, dr)
        d_zr = np.concatenate([da_z, da_r], axis=1)
        d_recurrent_kernel[:, : 2 * u] = h_tm1.T @ d_zr
        d_recurrent_kernel[:, 2 * u :] = (g.r * h_tm1).T @ da_h
        d_h_tm1 += d_zr @ w.recurrent_kernel[:, : 2 * u].T
    d_x_proj = np.concatenate([da_z, da_r, da_h], axis=1)  # 5. x_proj = x_t @ kernel + b (summed by the caller)
    return StepGradients(d_x_proj, d_h_tm1, d_recurrent_kernel, d_recurrent_bias)


class CellKernel:
    """The readable step kernel of :func:`refgru.core.sequence.run`: :func:`cell` at each step.

    With ``record_gates``, each item's ``values`` is the step's :class:`StepGates` (what
    :func:`refgru.trace` and :func:`refgru.gru_backward` keep); otherwise ``None``.
    """

    def __init__(self, w: GRUWeights, activation: Activation, recurrent_activation: Activation,
                 record_gates: bool = False, chunk_elements: int = PROJECTION_CHUNK_ELEMENTS):
        self.w, self.act, self.ract = w, activation, recurrent_activation
        self.record_gates, self.chunk_elements = record_gates, chunk_elements

    def steps(self, x: np.ndarray, initial_states: tuple[np.ndarray, ...]) -> Iterator[tuple]:
        (h,) = initial_states
        w, act, ract, gates = self.w, self.act, self.ract, self.record_gates
        chunk = max(1, self.chunk_elements // max(1, x.shape[0] * 3 * w.units))
        h = h.copy()
        for start in range(0, x.shape[1], chunk):
            x_proj = project_inputs(x[:, start : start + chunk], w)
            for i in range(x_proj.shape[1]):
                step = cell(x_proj[:, i], h, w, act, ract, gates=gates)
                h_new = step.h if gates else step
                yield h_new, (h_new,), (h,), step if gates else None
                h = h_new


__all__ = ["CellKernel", "StepGates", "StepGradients", "cell", "cell_backward", "project_inputs"]
