"""The fast sequence loop for the common GRU: ``activation="tanh"``, ``recurrent_activation="sigmoid"``.

It computes what :func:`refgru.cell.cell` computes, step after step, rearranged so that a step is
about ten NumPy calls on preallocated buffers, with no allocation and no copy between steps:

1. **One matmul gives every linear part of a step.** The weights are fused column-wise into
   ``[-a_r | -a_z | a_z | rec_h | x_h]``, where ``a_r = x_r + rec_r`` and ``a_z = x_z + rec_z`` are the
   gate pre-activations, ``rec_h = h_tm1 @ U_h + rb_h`` and ``x_h = x_t @ W_h + b_h``; and row-wise so
   the biases ride on a constant 1: the operand of step t is the row ``[x_t | 1 | h_tm1]``.
2. **Both gates in one sigmoid.** ``1 / (1 + exp(-a))`` on ``[-a_r | -a_z | a_z]`` gives
   ``[r | z | 1 - z]`` in three calls (``sigmoid(-a) = 1 - sigmoid(a)``).
3. **The update is one product and one sum.** ``[z | 1 - z] * [h_tm1 | hh]``, whose two halves are
   added straight into the next step's ``h_tm1`` slot.

When the batch or the layer is large, arithmetic costs more than NumPy calls and columns are no
longer free, so the inputs are not fused: ``[-x_r | -x_z | x_h]`` is projected for a chunk of steps
in one big matmul, the step matmul is ``[1 | h_tm1] @ [rb; U]`` = ``[-rec_r | -rec_z | rec_h]``, and
``1 - z`` is one subtraction. Either way the inputs go through in chunks, so with
``return_sequences=False`` the memory used does not grow with T.

The numbers differ from :func:`refgru.cell.cell` only by rounding: this sigmoid is ``1 / (1 + exp(-a))``
for both signs of ``a`` (refgru's uses ``e / (1 + e)`` with ``e = exp(a)`` when ``a < 0``), matmuls sum in
another order, and with fused inputs ``1 - z`` is ``sigmoid(-a_z)``. tests/test_fast_path.py bounds it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .activations import Activation, sigmoid
from .weights import GRUWeights

#: Inputs are fused into the step matmul while ``B * u * (input_dim + u)`` is at most this: small layers,
#: where a step costs its number of NumPy calls rather than its arithmetic.
FUSE_INPUTS_MAX_MACS = 1 << 17


def supports(activation: Activation, recurrent_activation: Activation) -> bool:
    """Whether the fast loop computes this layer: a ``tanh`` candidate and ``sigmoid`` gates."""
    return activation is np.tanh and recurrent_activation is sigmoid


@dataclass(frozen=True)
class FusedWeights:
    """The weights rearranged for the fast loop, every array in the compute dtype.

    Attributes:
        fuse_inputs: whether ``x_t`` is part of the step operand, or projected per chunk.
        step_kernel: ``(d + 1 + u, k)`` with rows ``[W (only when fused, d = input_dim); bias; U]``
            and columns ``[-a_r | -a_z | a_z | rec_h | x_h]`` when fused, else ``[-rec_r | -rec_z | rec_h]``;
            ``rec_h`` only with ``reset_after``.
        input_kernel, input_bias: ``(input_dim, 3u)`` and ``(3u,)`` giving ``[-x_r | -x_z | x_h]`` when
            not fused, else ``None``.
        candidate_kernel: ``U_h`` ``(u, u)`` for ``reset_after=False``, where ``hh`` needs
            ``(r * h_tm1) @ U_h``; ``None`` with ``reset_after``.
    """

    fuse_inputs: bool
    step_kernel: np.ndarray
    input_kernel: np.ndarray | None
    input_bias: np.ndarray | None
    candidate_kernel: np.ndarray | None


def fuse(w: GRUWeights, dtype: np.dtype, fuse_inputs: bool) -> FusedWeights:
    """Rearrange ``w`` as :class:`FusedWeights` in ``dtype`` (see the module docstring)."""
    u, d = w.units, w.input_dim
    no_bias = np.zeros(3 * u, dtype)
    b = no_bias if w.input_bias is None else w.input_bias
    rb = no_bias if w.recurrent_bias is None else w.recurrent_bias
    # (d + 2 + u, 3u): the column block of gate g is [W_g; b_g; rb_g; U_g].
    stacked = np.vstack([w.kernel, b, rb, w.recurrent_kernel]).astype(dtype)
    x_rows, b_row, rb_row, u_rows = slice(0, d), d, d + 1, slice(d + 2, None)
    s_z, s_r, s_h = stacked[:, :u], stacked[:, u : 2 * u], stacked[:, 2 * u :]
    x_h = s_h.copy()
    x_h[rb_row], x_h[u_rows] = 0, 0                                  # [W_h; b_h; 0; 0]
    rec_h = [s_h.copy()] if w.reset_after else []
    for block in rec_h:
        block[x_rows], block[b_row] = 0, 0                           # [0; 0; rb_h; U_h]
    candidate = None if w.reset_after else np.ascontiguousarray(w.U_h, dtype=dtype)
    if fuse_inputs:
        cols = np.hstack([-s_r, -s_z, s_z, *rec_h, x_h])
        step = np.vstack([cols[x_rows], cols[b_row] + cols[rb_row], cols[u_rows]])
        return FusedWeights(True, step, None, None, candidate)
    inputs = np.hstack([-s_r, -s_z, x_h])
    step = np.hstack([-s_r, -s_z, *rec_h])[rb_row:]
    return FusedWeights(False, step, np.ascontiguousarray(inputs[x_rows]), inputs[b_row].copy(), candidate)


class _Workspace:
    """Every buffer of the loop, allocated once; the attributes are named views into them.

    ``rows`` ``(chunk + 1, B, d + 1 + 2u)``: one row per step, ``[x_t | 1 | h_tm1 | hh]`` (``x_t`` only when
    fused, ``d = input_dim``, else ``d = 0``). Step t reads ``[x_t | 1 | h_tm1]`` of row t, writes ``hh``
    next to ``h_tm1`` in row t and ``h`` into row t + 1. ``g`` is the step matmul's output; ``e`` holds
    ``1 + exp(-a)`` for the gates, so ``r = 1 / e_r``, ``z = 1 / e_z`` and (fused) ``1 - z = 1 / e_pair[:, u:]``.
    """

    def __init__(self, f: FusedWeights, batch: int, steps: int, d: int, u: int, dtype: np.dtype, chunk_elements: int,
                 masked_sequences: bool):
        self.xd = xd = d if f.fuse_inputs else 0
        self.h_at = slice(xd + 1, xd + 1 + u)
        self.chunk = chunk = max(1, min(steps, chunk_elements // max(1, batch * (xd + 6 * u))))
        self.rows = np.zeros((chunk + 1, batch, xd + 1 + 2 * u), dtype)
        self.rows[:, :, xd] = 1
        self.g = g = np.empty((batch, f.step_kernel.shape[1]), dtype)
        if f.fuse_inputs:  # g = [-a_r | -a_z | a_z | rec_h | x_h]
            self.e, self.proj, self.x_h = g[:, : 3 * u], None, g[:, -u:]
        else:              # g = [-rec_r | -rec_z | rec_h], proj = [-x_r | -x_z | x_h] per step
            self.e, self.proj, self.x_h = np.empty((batch, 2 * u), dtype), np.empty((chunk, batch, 3 * u), dtype), None
        self.e_r, self.e_z, self.e_pair = self.e[:, :u], self.e[:, u : 2 * u], self.e[:, u:]
        self.g_gates, self.rec_h = g[:, : 2 * u], (g[:, -2 * u : -u] if f.fuse_inputs else g[:, -u:])
        self.ones = np.ones_like(self.e)
        self.m = np.empty((batch, u), dtype)              # hh's pre-activation
        self.rh = np.empty((batch, u), dtype)             # r * h_tm1 (reset_after=False)
        self.prod = np.empty((batch, 2 * u), dtype)       # [z * h_tm1 | (1 - z) * hh] (fused)
        self.diff = np.empty((batch, u), dtype)           # z * (h_tm1 - hh) (not fused)
        self.output = np.zeros((batch, u), dtype)         # the output so far, with a mask
        self.masked_outputs = np.empty((chunk, batch, u), dtype) if masked_sequences else None

    def load(self, f: FusedWeights, x_chunk: np.ndarray, mask_chunk: np.ndarray | None):
        """Put the inputs ``(n, B, d)`` of a chunk in place; return the per-step sequences the loop zips."""
        n, batch, d = x_chunk.shape
        rows, xd, h_at, none = self.rows, self.xd, self.h_at, itertools.repeat(None)
        if f.fuse_inputs:
            rows[:n, :, :d] = x_chunk
            x_gates, x_hs = none, itertools.repeat(self.x_h)
        else:
            proj = self.proj[:n]
            np.matmul(x_chunk.reshape(n * batch, d), f.input_kernel, out=proj.reshape(n * batch, -1))
            proj += f.input_bias
            x_gates, x_hs = proj[:, :, : self.e.shape[1]], proj[:, :, self.e.shape[1] :]
        masking = none
        if mask_chunk is not None:
            keep = mask_chunk[..., None]
            seq = none if self.masked_outputs is None else self.masked_outputs[:n]
            masking = zip(keep, ~keep, seq, strict=False)
        # h_tm1 alone is needed only without fused inputs, with reset_after=False, or with a mask.
        needs_h_tm1 = not f.fuse_inputs or f.candidate_kernel is not None or mask_chunk is not None
        h_tm1s = rows[:n, :, h_at] if needs_h_tm1 else none
        # operand [x_t | 1 | h_tm1], h_tm1, hh, pair [h_tm1 | hh], the next h, and what each step adds.
        return zip(rows[:n, :, : h_at.stop], h_tm1s, rows[:n, :, h_at.stop :], rows[:n, :, xd + 1 :],
                   rows[1 : n + 1, :, h_at], x_gates, x_hs, masking, strict=False)


def run(x: np.ndarray, w: GRUWeights, h0: np.ndarray, *, mask: np.ndarray | None, return_sequences: bool,
        zero_output_for_mask: bool, chunk_elements: int, fuse_inputs: bool | None = None):
    """The fast loop, with the contract of :func:`refgru.layer.run` for a tanh/sigmoid layer.

    Arguments:
        x: ``(B, T, input_dim)`` in the compute dtype, already in processing order.
        w: the weights; ``h0``: ``(B, u)`` initial state in the compute dtype.
        mask: bool ``(B, T)`` or ``None``.
        chunk_elements: about how many elements a chunk's buffers hold (this bounds memory).
        fuse_inputs: ``None`` decides by size (:data:`FUSE_INPUTS_MAX_MACS`).

    Returns:
        ``(output, state)``: output ``(B, T, u)`` with ``return_sequences``, else ``(B, u)``; state ``(B, u)``.
    """
    batch, steps, d = x.shape
    u, dtype = w.units, h0.dtype
    if fuse_inputs is None:
        fuse_inputs = batch * u * (d + u) <= FUSE_INPUTS_MAX_MACS
    f = fuse(w, dtype, fuse_inputs)
    ws = _Workspace(f, batch, steps, d, u, dtype, chunk_elements, mask is not None and return_sequences)
    # Local names for the hot loop (attribute look-ups cost as much as a small NumPy call).
    kernel, candidate_kernel = f.step_kernel, f.candidate_kernel
    g, g_gates, rec_h, e, e_r, e_z, e_pair, ones = ws.g, ws.g_gates, ws.rec_h, ws.e, ws.e_r, ws.e_z, ws.e_pair, ws.ones
    m, rh, prod, diff, output, rows, h_at = ws.m, ws.rh, ws.prod, ws.diff, ws.output, ws.rows, ws.h_at
    z_h, hh_part = prod[:, :u], prod[:, u:]
    rows[0, :, h_at] = h0
    outputs = np.empty((batch, steps, u), dtype) if return_sequences else None
    dot, add, subtract, divide, exp, tanh, copyto = np.dot, np.add, np.subtract, np.divide, np.exp, np.tanh, np.copyto
    with np.errstate(over="ignore", under="ignore"):  # exp(-a) may overflow: 1 / (1 + inf) = 0 is right
        for start in range(0, steps, ws.chunk):
            n = min(ws.chunk, steps - start)
            step_views = ws.load(f, x[:, start : start + n].swapaxes(0, 1),
                                 None if mask is None else mask[:, start : start + n].T)
            for operand, h_tm1, hh, pair, h, x_g, x_h, masking in step_views:
                dot(operand, kernel, g)                        # every linear part of the step
                if x_g is not None:
                    add(g_gates, x_g, e)                       # [-a_r | -a_z]
                exp(e, e)                                      # sigmoid(a) = 1 / e with e = 1 + exp(-a)
                add(e, ones, e)
                if candidate_kernel is None:                   # reset_after: r * (h_tm1 @ U_h + rb_h)
                    divide(rec_h, e_r, m)
                else:                                          # reset_after=False: (r * h_tm1) @ U_h
                    divide(h_tm1, e_r, rh)
                    dot(rh, candidate_kernel, m)
                add(m, x_h, m)
                tanh(m, hh)                                    # hh, written next to h_tm1
                if x_g is None:                                # h = z * h_tm1 + (1 - z) * hh
                    divide(pair, e_pair, prod)
                    add(z_h, hh_part, h)
                else:                                          # h = hh + z * (h_tm1 - hh)
                    subtract(h_tm1, hh, diff)
                    divide(diff, e_z, diff)
                    add(hh, diff, h)
                if masking is not None:
                    keep, masked, out = masking
                    copyto(h, h_tm1, where=masked)             # a masked step carries the state
                    if zero_output_for_mask:                   # ... and outputs zeros
                        copyto(output, h)
                        copyto(output, 0, where=masked)
                    else:                                      # ... or repeats the last output
                        copyto(output, h, where=keep)
                    if out is not None:
                        copyto(out, output)
            if outputs is not None:
                done = rows[1 : n + 1, :, h_at] if ws.masked_outputs is None else ws.masked_outputs[:n]
                outputs[:, start : start + n] = done.swapaxes(0, 1)
            rows[0, :, h_at] = rows[n, :, h_at]
    state = rows[0, :, h_at].copy()
    return (state.copy() if mask is None else output) if outputs is None else outputs, state
