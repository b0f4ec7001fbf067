"""``gru_backward``: backpropagation through time (BPTT) for a Keras GRU layer, in NumPy.

The forward step is :func:`refgru.core.cell.cell`. Name its pre-activations ``a_z, a_r, a_h``::

    a_z = x_z + rec_z      z  = recurrent_activation(a_z)
    a_r = x_r + rec_r      r  = recurrent_activation(a_r)
    a_h = x_h + rec_h      hh = activation(a_h)
    h = z * h_tm1 + (1 - z) * hh

Given ``dh = dL/dh`` for one step, :func:`refgru.core.cell.cell_backward` runs the step backwards::

    dz = dh * (h_tm1 - hh)     dhh = dh * (1 - z)     dh_tm1 = dh * z
    da_z = dz * recurrent_activation'(a_z)            da_h = dhh * activation'(a_h)
    reset_after=True,  rec_h = r * hU_h with hU_h = h_tm1 @ U_h + rb_h:
        dr = da_h * hU_h
        d_hU = [da_z | da_r | r * da_h]          the gradient of h_tm1 @ recurrent_kernel + rb
        dU += h_tm1.T @ d_hU    drb += sum_batch d_hU    dh_tm1 += d_hU @ recurrent_kernel.T
    reset_after=False, rec_h = (r * h_tm1) @ U_h:
        d_rh = da_h @ U_h.T     dr = d_rh * h_tm1        dh_tm1 += d_rh * r
        [dU_z | dU_r] += h_tm1.T @ [da_z | da_r]        dU_h += (r * h_tm1).T @ da_h
        dh_tm1 += [da_z | da_r] @ [U_z | U_r].T
    both: da_r = dr * recurrent_activation'(a_r), and d_x_proj = [da_z | da_r | da_h] feeds
        d_kernel += x_t.T @ d_x_proj    db += sum_batch d_x_proj    d_x_t = d_x_proj @ kernel.T

:func:`gru_backward` adds the sequence: the forward pass is :func:`refgru.core.sequence.run` with the
recording kernel, and the reverse sweep calls ``cell_backward`` and, with a mask,
:func:`refgru.core.masking.carry_vjp`, the adjoint of the carry rule (a masked step routes its
gradient to the carried state or the carried output instead). ``go_backwards`` is the schedule's:
``d_x`` comes back in input order. docs/backward.md derives every line.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ..errors import error
from .activations import require_vjp
from .api import prepare
from .cell import CellKernel, cell_backward
from .checks import check_upstream
from .masking import carry_vjp
from .options import resolve
from .sequence import run
from .weights import GRUWeights, NamedSlices


class _Gradients(NamedTuple):
    """Gradients of a loss with respect to everything a Keras GRU layer reads, in Keras's shapes.

    Fields:
        d_kernel: ``(input_dim, 3u)``, blocks ``[dW_z | dW_r | dW_h]``.
        d_recurrent_kernel: ``(u, 3u)``, blocks ``[dU_z | dU_r | dU_h]``.
        d_bias: the bias's shape: ``(2, 3u)`` (rows ``[db_z | db_r | db_h]`` and ``[drb_z | drb_r | drb_h]``),
            ``(3u,)`` for ``reset_after=False``, or ``None`` for ``use_bias=False``.
        d_x: ``(B, T, input_dim)``, in the order of ``x`` (also with ``go_backwards``).
        d_initial_state: ``(B, u)`` (also when ``initial_state`` was ``None``, i.e. zeros).

    The named slices ``dW_z ... drb_h`` are views of these arrays (``None`` where the weight is absent).
    """

    d_kernel: np.ndarray
    d_recurrent_kernel: np.ndarray
    d_bias: np.ndarray | None
    d_x: np.ndarray
    d_initial_state: np.ndarray

    @property
    def d_input_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[db_z | db_r | db_h]``, or ``None`` without a bias."""
        if self.d_bias is None:
            return None
        return self.d_bias[0] if self.d_bias.ndim == 2 else self.d_bias

    @property
    def d_recurrent_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[drb_z | drb_r | drb_h]``; only with ``reset_after`` and a bias."""
        return self.d_bias[1] if self.d_bias is not None and self.d_bias.ndim == 2 else None


class GRUGradients(_Gradients, NamedSlices):
    """Gradients of a loss with respect to everything a Keras GRU layer reads, in Keras's shapes.

    Fields (a named tuple): ``d_kernel`` ``(input_dim, 3u)``, ``d_recurrent_kernel`` ``(u, 3u)``,
    ``d_bias`` (the bias's shape, or ``None``), ``d_x`` ``(B, T, input_dim)`` in the order of ``x``
    (also with ``go_backwards``), ``d_initial_state`` ``(B, u)``. The named slices ``dW_z ... drb_h``
    are views of these arrays (``None`` where the weight is absent).
    """

    __slots__ = ()
    SLICE_PREFIX = "d"
    SLICE_SOURCES = {"W": "d_kernel", "U": "d_recurrent_kernel", "b": "d_input_bias", "rb": "d_recurrent_bias"}


def forward_with_cache(schedule, w: GRUWeights, h0: np.ndarray, act, ract) -> tuple[list, list]:
    """The forward pass of :func:`refgru.gru` through the driver, keeping every step in processing order.

    Returns ``(gates, h_tm1s)``: ``gates[t]`` is step ``t``'s :class:`StepGates` and ``h_tm1s[t]``
    ``(B, u)`` the state it started from.
    """
    gates, h_tm1s = [], []

    def record(t, step, output):
        gates.append(step[3])
        h_tm1s.append(step[2][0])

    run(schedule, CellKernel(w, act, ract, record_gates=True), (h0,), record=record)
    return gates, h_tm1s


def gru_backward(x: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, d_output: np.ndarray,
                 d_state: np.ndarray | None = None, *, initial_state: np.ndarray | Sequence[np.ndarray] | None = None,
                 mask: np.ndarray | None = None, **options) -> GRUGradients:
    """Gradients of ``L = sum(output * d_output) + sum(state * d_state)`` for ``refgru.gru(x, weights, ...)``.

    That ``L`` makes ``d_output`` and ``d_state`` the upstream gradients ``dL/d output`` and
    ``dL/d state``, as ``tf.GradientTape`` would receive them from the layers above.

    Arguments:
        x: ``(B, T, input_dim)`` inputs.
        weights: ``[kernel (input_dim, 3u), recurrent_kernel (u, 3u)(, bias)]`` or a :class:`GRUWeights`.
        d_output: ``(B, T, u)`` with ``return_sequences`` (in the output's processing order), else ``(B, u)``.
        d_state: ``(B, u)`` the gradient of the final state (``return_state=True``), or ``None`` for zeros.
        initial_state, mask, options: as in :func:`refgru.gru`. Activations must be names (see
            :data:`refgru.core.activations.DERIVATIVES`); callables are refused.

    Returns:
        :class:`GRUGradients` ``(d_kernel, d_recurrent_kernel, d_bias, d_x, d_initial_state)`` with
        the named slices ``dW_z ... drb_h``.
    """
    opts = resolve(**options)
    if opts.compute_dtype is not None:
        raise error("compute_dtype", "None (gradients are computed in the weights' dtype)", opts.compute_dtype)
    act_vjp = require_vjp(opts.activation, opts.keras_version, "activation")
    ract_vjp = require_vjp(opts.recurrent_activation, opts.keras_version, "recurrent_activation")
    p = prepare(x, weights, initial_state, mask, opts)
    w, schedule = p.w, p.schedule
    batch, steps, u, dtype = schedule.batch, schedule.steps, w.units, p.h0.dtype
    if opts.return_sequences:
        d_outputs = check_upstream("d_output", d_output, (batch, steps, u), "the output, return_sequences=True", dtype)
    else:
        last = check_upstream("d_output", d_output, (batch, u), "the output, return_sequences=False", dtype)
        d_outputs = np.zeros((batch, steps, u), dtype)
        d_outputs[:, -1] = last
    dh = np.zeros((batch, u), dtype)  # dL/dh for the state after the step, carried backwards through time
    if d_state is not None:
        dh += check_upstream("d_state", d_state, (batch, u), "the final state", dtype)
    gates, h_tm1s = forward_with_cache(schedule, w, p.h0, opts.activation.forward, opts.recurrent_activation.forward)

    d_x_proj = np.empty((batch, steps, 3 * u), dtype)
    d_recurrent_kernel = np.zeros((u, 3 * u), dtype)
    d_recurrent_bias = np.zeros(3 * u, dtype)
    d_out_carried = np.zeros((batch, u), dtype)  # dL/d(previous output) through masked steps that repeat it
    for t in reversed(range(steps)):
        d_out = d_outputs[:, t] + d_out_carried
        if schedule.keep is None:  # output = h = the step's new state
            dh_step, dh_carried = dh + d_out, 0
        else:
            (dh_step,), (dh_carried,), d_out_carried = carry_vjp((dh,), d_out, schedule.keep[t],
                                                                 opts.zero_output_for_mask)
        step = cell_backward(dh_step, gates[t], h_tm1s[t], w, act_vjp, ract_vjp)
        d_x_proj[:, t] = step.d_x_proj
        d_recurrent_kernel += step.d_recurrent_kernel
        if step.d_recurrent_bias is not None:
            d_recurrent_bias += step.d_recurrent_bias
        dh = dh_carried + step.d_h_tm1

    flat = d_x_proj.reshape(-1, 3 * u)
    d_kernel = schedule.x.reshape(-1, w.input_dim).T @ flat
    d_x = schedule.to_input_order(d_x_proj @ w.kernel.T)
    d_bias = None
    if w.use_bias:
        d_bias = np.stack([flat.sum(axis=0), d_recurrent_bias]) if w.reset_after else flat.sum(axis=0)
    return GRUGradients(d_kernel, d_recurrent_kernel, d_bias, np.ascontiguousarray(d_x), dh)


__all__ = ["GRUGradients", "forward_with_cache", "gru_backward"]
