"""``gru_backward``: backpropagation through time (BPTT) for a Keras GRU layer, in NumPy.

The forward step is :func:`refgru.cell.cell`. Name its pre-activations ``a_z, a_r, a_h``::

    a_z = x_z + rec_z      z  = recurrent_activation(a_z)
    a_r = x_r + rec_r      r  = recurrent_activation(a_r)
    a_h = x_h + rec_h      hh = activation(a_h)
    h = z * h_tm1 + (1 - z) * hh

Given ``dh = dL/dh`` for one step, :func:`cell_backward` runs the step backwards::

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

:func:`gru_backward` adds the sequence: masks route a step's gradient to the carried state or the
carried output instead, and ``go_backwards`` reverses ``x`` (and ``d_x``). docs/backward.md derives
every line.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .activations import Activation, check_keras_version, get_activation
from .backward_activations import Vjp, get_derivative
from .cell import StepGates, cell, project_inputs
from .errors import error
from .layer import _check_flag, check_initial_state, check_input, check_mask
from .weights import GATES, GRUWeights, _block, as_numeric, as_weights


class GRUGradients(NamedTuple):
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

    dW_z = property(lambda self: _block(self.d_kernel, "z"), doc="``(input_dim, u)`` dL/dW_z.")
    dW_r = property(lambda self: _block(self.d_kernel, "r"), doc="``(input_dim, u)`` dL/dW_r.")
    dW_h = property(lambda self: _block(self.d_kernel, "h"), doc="``(input_dim, u)`` dL/dW_h.")
    dU_z = property(lambda self: _block(self.d_recurrent_kernel, "z"), doc="``(u, u)`` dL/dU_z.")
    dU_r = property(lambda self: _block(self.d_recurrent_kernel, "r"), doc="``(u, u)`` dL/dU_r.")
    dU_h = property(lambda self: _block(self.d_recurrent_kernel, "h"), doc="``(u, u)`` dL/dU_h.")
    db_z = property(lambda self: _block(self.d_input_bias, "z"), doc="``(u,)`` dL/db_z, or None.")
    db_r = property(lambda self: _block(self.d_input_bias, "r"), doc="``(u,)`` dL/db_r, or None.")
    db_h = property(lambda self: _block(self.d_input_bias, "h"), doc="``(u,)`` dL/db_h, or None.")
    drb_z = property(lambda self: _block(self.d_recurrent_bias, "z"), doc="``(u,)`` dL/drb_z, or None.")
    drb_r = property(lambda self: _block(self.d_recurrent_bias, "r"), doc="``(u,)`` dL/drb_r, or None.")
    drb_h = property(lambda self: _block(self.d_recurrent_bias, "h"), doc="``(u,)`` dL/drb_h, or None.")

    def slices(self) -> dict[str, np.ndarray | None]:
        """The twelve named gradients ``dW_z ... drb_h``, in the order of :meth:`GRUWeights.slices`."""
        return {f"d{p}_{g}": getattr(self, f"d{p}_{g}") for p in ("W", "U", "b", "rb") for g in GATES}


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
    """One step of :func:`refgru.cell.cell`, backwards.

    Arguments:
        dh: ``(B, u)`` the gradient of the loss with respect to this step's new state ``h``.
        g: the step's :class:`StepGates` (``cell(..., gates=True)``), each field ``(B, u)``.
        h_tm1: ``(B, u)`` the state the step started from.
        w: the weights; ``activation_vjp``, ``recurrent_activation_vjp``: see
            :mod:`refgru.backward_activations`.

    Returns:
        :class:`StepGradients`.
    """
    u = w.units  # the numbers 1.-6. are the steps of docs/backward.md
    dz = dh * (h_tm1 - g.hh)  # 1. h = z * h_tm1 + (1 - z) * hh
    dhh = dh * (1 - g.z)
    d_h_tm1 = dh * g.z
    da_z = recurrent_activation_vjp(g.x_z + g.rec_z, g.z, dz)  # 2. the activations, at a_z and a_h
    da_h = activation_vjp(g.x_h + g.rec_h, g.hh, dhh)
    d_recurrent_kernel = np.empty_like(w.recurrent_kernel, dtype=dh.dtype)
    d_recurrent_bias = None
    if w.reset_after:  # 3., 4., 6. with rec_h = r * hU_h
        hU_h = h_tm1 @ w.U_h
        if w.recurrent_bias is not None:
            hU_h += w.rb_h
        dr = da_h * hU_h
        da_r = recurrent_activation_vjp(g.x_r + g.rec_r, g.r, dr)
        d_hU = np.concatenate([da_z, da_r, g.r * da_h], axis=1)
        d_recurrent_kernel[:] = h_tm1.T @ d_hU
        if w.recurrent_bias is not None:
            d_recurrent_bias = d_hU.sum(axis=0)
        d_h_tm1 += d_hU @ w.recurrent_kernel.T
    else:  # 3., 4., 6. with rec_h = (r * h_tm1) @ U_h
        d_rh = da_h @ w.U_h.T
        dr = d_rh * h_tm1
        d_h_tm1 += d_rh * g.r
        da_r = recurrent_activation_vjp(g.x_r + g.rec_r, g.r, dr)
        d_zr = np.concatenate([da_z, da_r], axis=1)
        d_recurrent_kernel[:, : 2 * u] = h_tm1.T @ d_zr
        d_recurrent_kernel[:, 2 * u :] = (g.r * h_tm1).T @ da_h
        d_h_tm1 += d_zr @ w.recurrent_kernel[:, : 2 * u].T
    d_x_proj = np.concatenate([da_z, da_r, da_h], axis=1)  # 5. x_proj = x_t @ kernel + b (summed by the caller)
    return StepGradients(d_x_proj, d_h_tm1, d_recurrent_kernel, d_recurrent_bias)


def forward_with_cache(x: np.ndarray, w: GRUWeights, h: np.ndarray, act: Activation, ract: Activation, *,
                       mask: np.ndarray | None, zero_output_for_mask: bool):
    """The forward pass of :func:`refgru.layer.run` on checked inputs in processing order, keeping every step.

    Returns ``(outputs (B, T, u), state (B, u), gates, h_tm1s)``: ``gates[t]`` is step ``t``'s
    :class:`StepGates` and ``h_tm1s[t]`` ``(B, u)`` the state it started from.
    """
    x_proj = project_inputs(x, w)
    outputs = np.empty(x.shape[:2] + (w.units,), h.dtype)
    output = np.zeros_like(h)  # the output before the first unmasked step is zeros, not initial_state
    gates, h_tm1s = [], []
    for t in range(x.shape[1]):
        step = cell(x_proj[:, t], h, w, act, ract, gates=True)
        gates.append(step)
        h_tm1s.append(h)
        if mask is None:
            h = output = step.h
        else:
            keep = mask[:, t, None]
            h = np.where(keep, step.h, h)
            output = np.where(keep, step.h, 0 if zero_output_for_mask else output).astype(h.dtype, copy=False)
        outputs[:, t] = output
    return outputs, h, gates, h_tm1s


def _check_upstream(name: str, value: object, shape: tuple[int, ...], what: str, dtype: np.dtype) -> np.ndarray:
    array = as_numeric(name, value, f"a numeric array of shape {shape} ({what})")
    if array.shape != shape:
        raise error(name, f"shape {shape} ({what})", array)
    return array.astype(dtype, copy=False)


def gru_backward(x: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, d_output: np.ndarray,
                 d_state: np.ndarray | None = None, *, reset_after: bool | None = None,
                 activation: str | None = "tanh", recurrent_activation: str | None = "sigmoid",
                 return_sequences: bool = False, go_backwards: bool = False,
                 initial_state: np.ndarray | Sequence[np.ndarray] | None = None, mask: np.ndarray | None = None,
                 zero_output_for_mask: bool = False, keras_version: int = 3) -> GRUGradients:
    """Gradients of ``L = sum(output * d_output) + sum(state * d_state)`` for ``refgru.gru(x, weights, ...)``.

    That ``L`` makes ``d_output`` and ``d_state`` the upstream gradients ``dL/d output`` and
    ``dL/d state``, as ``tf.GradientTape`` would receive them from the layers above.

    Arguments:
        x: ``(B, T, input_dim)`` inputs.
        weights: ``[kernel (input_dim, 3u), recurrent_kernel (u, 3u)(, bias)]`` or a :class:`GRUWeights`.
        d_output: ``(B, T, u)`` with ``return_sequences`` (in the output's processing order), else ``(B, u)``.
        d_state: ``(B, u)`` the gradient of the final state (``return_state=True``), or ``None`` for zeros.
        options: ``reset_after``, ``activation``, ``recurrent_activation``, ``return_sequences``,
            ``go_backwards``, ``initial_state``, ``mask``, ``zero_output_for_mask`` and
            ``keras_version`` are as in :func:`refgru.gru`. Activations must be names (see
            :data:`refgru.backward_activations.DERIVATIVES`); callables are refused.

    Returns:
        :class:`GRUGradients` ``(d_kernel, d_recurrent_kernel, d_bias, d_x, d_initial_state)`` with
        the named slices ``dW_z ... drb_h``.
    """
    keras_version = check_keras_version(keras_version)
    w = as_weights(weights, reset_after)
    act_vjp = get_derivative(activation, keras_version, "activation")
    ract_vjp = get_derivative(recurrent_activation, keras_version, "recurrent_activation")
    act = get_activation(activation, keras_version, "activation")
    ract = get_activation(recurrent_activation, keras_version, "recurrent_activation")
    return_sequences = _check_flag("return_sequences", return_sequences)
    go_backwards = _check_flag("go_backwards", go_backwards)
    zero_output_for_mask = _check_flag("zero_output_for_mask", zero_output_for_mask)
    x = check_input(x, w)
    batch, steps, _ = x.shape
    dtype = x.dtype
    h0 = check_initial_state(initial_state, batch, w, dtype)
    mask = check_mask(mask, batch, steps)
    u = w.units
    if return_sequences:
        d_outputs = _check_upstream("d_output", d_output, (batch, steps, u), "the output, return_sequences=True", dtype)
    else:
        last = _check_upstream("d_output", d_output, (batch, u), "the output, return_sequences=False", dtype)
        d_outputs = np.zeros((batch, steps, u), dtype)
        d_outputs[:, -1] = last
    dh = np.zeros((batch, u), dtype)  # dL/dh for the state after the step, carried backwards through time
    if d_state is not None:
        dh += _check_upstream("d_state", d_state, (batch, u), "the final state", dtype)
    if go_backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    _, _, gates, h_tm1s = forward_with_cache(x, w, h0, act, ract, mask=mask, zero_output_for_mask=zero_output_for_mask)

    d_x_proj = np.empty((batch, steps, 3 * u), dtype)
    d_recurrent_kernel = np.zeros((u, 3 * u), dtype)
    d_recurrent_bias = np.zeros(3 * u, dtype)
    d_out_carried = np.zeros((batch, u), dtype)  # dL/d(previous output) through masked steps that repeat it
    for t in reversed(range(steps)):
        d_out = d_outputs[:, t] + d_out_carried
        if mask is None:  # output = h = the step's new state
            dh_step, dh_carried = dh + d_out, 0
        else:  # masked rows: the state is carried, the output is the previous output (or zeros)
            keep = mask[:, t, None]
            dh_step = np.where(keep, dh + d_out, 0)
            dh_carried = np.where(keep, 0, dh)
            if not zero_output_for_mask:
                d_out_carried = np.where(keep, 0, d_out)
        step = cell_backward(dh_step, gates[t], h_tm1s[t], w, act_vjp, ract_vjp)
        d_x_proj[:, t] = step.d_x_proj
        d_recurrent_kernel += step.d_recurrent_kernel
        if step.d_recurrent_bias is not None:
            d_recurrent_bias += step.d_recurrent_bias
        dh = dh_carried + step.d_h_tm1

    flat = d_x_proj.reshape(-1, 3 * u)
    d_kernel = x.reshape(-1, w.input_dim).T @ flat
    d_x = d_x_proj @ w.kernel.T
    if go_backwards:
        d_x = d_x[:, ::-1]
    d_bias = None
    if w.use_bias:
        d_bias = np.stack([flat.sum(axis=0), d_recurrent_bias]) if w.reset_after else flat.sum(axis=0)
    return GRUGradients(d_kernel, d_recurrent_kernel, d_bias, np.ascontiguousarray(d_x), dh)


__all__ = ["GRUGradients", "StepGradients", "cell_backward", "forward_with_cache", "gru_backward"]
