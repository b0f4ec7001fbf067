"""The fused step kernel for the common GRU: ``activation="tanh"``, ``recurrent_activation="sigmoid"``.

:class:`FusedKernel` is a step kernel of :func:`refgru.core.sequence.run` (which applies masks and
directions; this module has no sequence rules). It computes what :func:`refgru.core.cell.cell`
computes, step after step, rearranged so that a step is eight to ten NumPy calls on preallocated
buffers, with no allocation and no copy between steps. For one sequence of a small layer:

1. **One matmul gives every linear part of a step.** The weights are fused column-wise into
   ``[-a_r | -a_z | a_z | hU_h | x_h]``, where ``a_r = x_r + rec_r`` and ``a_z = x_z + rec_z`` are the
   gate pre-activations, ``hU_h = h_tm1 @ U_h + rb_h`` and ``x_h = x_t @ W_h + b_h``; and row-wise so
   the biases ride on a constant 1: the operand of step t is the row ``[x_t | 1 | h_tm1]``.
2. **Both gates in one sigmoid.** ``1 / (1 + exp(-a))`` on ``[-a_r | -a_z | a_z]`` gives
   ``[r | z | 1 - z]`` in three calls (``sigmoid(-a) = 1 - sigmoid(a)``).
3. **The update is one product and one sum.** ``[z | 1 - z] * [h_tm1 | hh]``, whose two halves are
   added straight into the next step's ``h_tm1`` slot.

That is eight NumPy calls per step, the fewest of any layout, and it is used for one sequence of a
small layer (``B = 1``, :data:`FUSE_INPUTS_MAX_MACS`), where a step costs its number of calls. Everywhere
else arithmetic costs more than calls and the step's arrays must be contiguous (a column slice of
``g`` is a strided array, measured 2-4x slower per call for ``B > 1``), so the loop runs in the column
layout of :mod:`refgru.core.columns` (with ``x_t`` in its step matmul for narrow inputs,
:func:`refgru.core.columns.inputs_in_step`). Either way the inputs go through in chunks, so with
``return_sequences=False`` the memory used does not grow with T.

The numbers differ from :func:`refgru.core.cell.cell` only by rounding: this sigmoid is ``1 / (1 + exp(-a))``
for both signs of ``a`` (refgru's uses ``e / (1 + e)`` with ``e = exp(a)`` when ``a < 0``), matmuls sum in
another order, and with fused inputs ``1 - z`` is ``sigmoid(-a_z)``. tests/test_fast_path.py bounds it.

The fused weights are cached per :class:`GRUWeights` object, dtype and layout, so a model's layer fuses once.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .cell import PROJECTION_CHUNK_ELEMENTS
from .columns import column_loop, fuse_columns, inputs_in_step
from .weights import GRUWeights

#: Inputs are fused into the step matmul for ``B = 1`` while ``u * (input_dim + u)`` is at most this: small
#: layers, where a step costs its number of NumPy calls rather than its arithmetic (benchmarks/: at
#: ``B = 2`` the column layout is already faster, 5.0 against 7.6 µs per step at ``(T, D, H) = (500, 8, 32)``).
FUSE_INPUTS_MAX_MACS = 1 << 14


@dataclass(frozen=True)
class FusedWeights:
    """The weights rearranged for the fast loop, every array in the compute dtype.

    Attributes:
        fuse_inputs: whether the loop runs in the fused row layout (``x_t`` in the step operand row), or
            in the column layout (:func:`refgru.core.columns.fuse_columns` gives its arrays).
        step_kernel: fused, ``(d + 1 + u, k)`` with rows ``[W; b + rb; U]`` (``d = input_dim``) and
            columns ``[-a_r | -a_z | a_z | hU_h | x_h]`` (``hU_h`` only with ``reset_after``); in columns,
            ``(k, u + 1 (+ d))``, multiplying ``[h_tm1; 1 (; x_t)]`` into ``[-a_r; -a_z; hU_h]``.
        input_kernel, input_bias: in columns, the chunk projection: ``[b_h, W_h^T]`` and ``None`` when the
            inputs are in the step matmul, else ``[-W_r^T; -W_z^T; W_h^T]`` and ``b_h`` ``(u, 1)``;
            ``None`` in rows.
        candidate_kernel: ``U_h`` ``(u, u)`` (fused) or ``U_h^T`` (columns) for ``reset_after=False``,
            where ``hh`` needs ``(r * h_tm1) @ U_h``; ``None`` with ``reset_after``.
    """

    fuse_inputs: bool
    step_kernel: np.ndarray
    input_kernel: np.ndarray | None
    input_bias: np.ndarray | None
    candidate_kernel: np.ndarray | None


def fuse(w: GRUWeights, dtype: np.dtype, fuse_inputs: bool, in_step: bool | None = None) -> FusedWeights:
    """Rearrange ``w`` as :class:`FusedWeights` in ``dtype`` (see the module docstring); ``in_step``: whether
    the column layout puts ``x_t`` in the step matmul (``None``: :func:`refgru.core.columns.inputs_in_step`)."""
    if not fuse_inputs:
        return FusedWeights(False, *fuse_columns(w, dtype, _in_step(w, False, in_step)))
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
    hU_h = [s_h.copy()] if w.reset_after else []
    for block in hU_h:
        block[x_rows], block[b_row] = 0, 0                           # [0; 0; rb_h; U_h]
    candidate = None if w.reset_after else np.ascontiguousarray(w.U_h, dtype=dtype)
    cols = np.hstack([-s_r, -s_z, s_z, *hU_h, x_h])
    step = np.vstack([cols[x_rows], cols[b_row] + cols[rb_row], cols[u_rows]])
    return FusedWeights(True, step, None, None, candidate)


def _in_step(w: GRUWeights, fuse_inputs: bool, in_step: bool | None) -> bool | None:
    """``in_step`` as the layout uses it: ``None`` for the row layout, else a bool (``None``: by size)."""
    if fuse_inputs:
        return None
    return inputs_in_step(w.input_dim, w.units) if in_step is None else bool(in_step)


_CACHE: "weakref.WeakKeyDictionary[GRUWeights, dict]" = weakref.WeakKeyDictionary()


def fused_weights(w: GRUWeights, dtype: np.dtype, fuse_inputs: bool, in_step: bool | None = None) -> FusedWeights:
    """:func:`fuse` once per ``(w, dtype, layout)``: ``GRUWeights`` is immutable, so the result is kept."""
    per_weights = _CACHE.setdefault(w, {})
    key = (np.dtype(dtype), bool(fuse_inputs), _in_step(w, fuse_inputs, in_step))
    if key not in per_weights:
        per_weights[key] = fuse(w, *key)
    return per_weights[key]


class FusedKernel:
    """The fused tanh/sigmoid step kernel (see the module docstring and :mod:`refgru.core.sequence`).

    Arguments:
        w: the weights; ``dtype``: the compute dtype.
        chunk_elements: about how many elements a chunk's buffers hold (this bounds memory).
        fuse_inputs: ``None`` decides by size (:data:`FUSE_INPUTS_MAX_MACS`).
        in_step: for the column layout, whether ``x_t`` rides in the step matmul; ``None`` decides by size
            (:func:`refgru.core.columns.inputs_in_step`).
    """

    def __init__(self, w: GRUWeights, dtype: np.dtype, chunk_elements: int = PROJECTION_CHUNK_ELEMENTS,
                 fuse_inputs: bool | None = None, in_step: bool | None = None):
        self.w, self.dtype, self.chunk_elements = w, np.dtype(dtype), chunk_elements
        self.fuse_inputs, self.in_step = fuse_inputs, in_step

    def steps(self, x: np.ndarray, initial_states: tuple[np.ndarray, ...]) -> Iterator[tuple]:
        """Yield ``(h, (h,), (h_tm1,), None)`` per step; ``h`` and ``h_tm1`` are views of the row buffer."""
        return self._loop(x, initial_states[0], None, True)

    def sequence(self, x: np.ndarray, initial_states: tuple[np.ndarray, ...], outputs: np.ndarray | None):
        """The whole sequence at once (the driver's protocol): ``outputs[:, t] = h`` per chunk, returns ``(h,)``."""
        h = None
        for h in self._loop(x, initial_states[0], outputs, False):  # noqa: B007 (one item: the last h)
            pass
        return (h.copy(),)

    def _loop(self, x: np.ndarray, h0: np.ndarray, outputs: np.ndarray | None, per_step: bool) -> Iterator:
        """The fast loop; with ``per_step`` it yields each step's item, else only the final ``h`` (a view)."""
        batch, steps, d = x.shape
        u = self.w.units
        fuse_inputs = self.fuse_inputs
        if fuse_inputs is None:
            fuse_inputs = batch == 1 and u * (d + u) <= FUSE_INPUTS_MAX_MACS
        f = fused_weights(self.w, self.dtype, fuse_inputs, None if fuse_inputs else self.in_step)
        if not fuse_inputs:
            return column_loop(f, x, h0, outputs, per_step, self.chunk_elements)
        return _row_loop(f, x, h0, outputs, per_step, self.chunk_elements)


def _row_loop(f: FusedWeights, x: np.ndarray, h0: np.ndarray, outputs: np.ndarray | None, per_step: bool,
              chunk_elements: int) -> Iterator:
    """The fused loop of the module docstring (as :func:`refgru.core.columns.column_loop`, in rows).

    ``rows`` ``(chunk + 1, B, d + 1 + 2u)`` holds one row per step, ``[x_t | 1 | h_tm1 | hh]``. Step i
    reads ``[x_t | 1 | h_tm1]`` of row i, writes ``hh`` next to ``h_tm1`` in row i and ``h`` into row
    i + 1, which is the next step's ``h_tm1``: a carry the driver writes into ``h`` is what the next
    step reads. ``g = [-a_r | -a_z | a_z | hU_h | x_h]`` is the step matmul's output; its first ``3u``
    columns become ``e = 1 + exp(-a)``, so ``r = 1 / e_r`` and ``[z | 1 - z] = 1 / e_pair``.
    """
    batch, steps, d = x.shape
    u, dtype = h0.shape[1], h0.dtype
    h_at = slice(d + 1, d + 1 + u)
    chunk = max(1, min(steps, chunk_elements // max(1, batch * (d + 6 * u))))
    rows = np.zeros((chunk + 1, batch, d + 1 + 2 * u), dtype)
    rows[:, :, d] = 1
    g = np.empty((batch, f.step_kernel.shape[1]), dtype)
    e, x_h = g[:, : 3 * u], g[:, -u:]
    e_r, e_pair, hU_h = e[:, :u], e[:, u:], g[:, -2 * u : -u]
    kernel, candidate_kernel = f.step_kernel, f.candidate_kernel
    a_h = np.empty((batch, u), dtype)                                       # hh's pre-activation
    rh = None if candidate_kernel is None else np.empty((batch, u), dtype)  # r * h_tm1 (reset_after=False)
    prod = np.empty((batch, 2 * u), dtype)                                  # [z * h_tm1 | (1 - z) * hh]
    z_h, hh_part = prod[:, :u], prod[:, u:]
    rows[0, :, h_at] = h0
    # Local names for the hot loop (attribute look-ups cost as much as a small NumPy call).
    dot, add, divide, exp, tanh = np.dot, np.add, np.divide, np.exp, np.tanh
    ones = np.ones_like(e)  # an array operand: cheaper per call than a scalar 1
    for start in range(0, steps, chunk):
        n = min(chunk, steps - start)
        rows[:n, :, :d] = x[:, start : start + n].swapaxes(0, 1)
        # per step: operand [x_t | 1 | h_tm1], h_tm1, hh, pair [h_tm1 | hh] and the next h.
        views = zip(rows[:n, :, : h_at.stop], rows[:n, :, h_at], rows[:n, :, h_at.stop :], rows[:n, :, d + 1 :],
                    rows[1 : n + 1, :, h_at], strict=True)
        with np.errstate(over="ignore", under="ignore"):  # exp(-a) may overflow: 1 / (1 + inf) = 0 is right
            for operand, h_tm1, hh, pair, h in views:
                dot(operand, kernel, g)                        # every linear part of the step
                exp(e, e)                                      # sigmoid(a) = 1 / e with e = 1 + exp(-a)
                add(e, ones, e)
                if candidate_kernel is None:                   # reset_after: r * (h_tm1 @ U_h + rb_h)
                    divide(hU_h, e_r, a_h)
                else:                                          # reset_after=False: (r * h_tm1) @ U_h
                    divide(h_tm1, e_r, rh)
                    dot(rh, candidate_kernel, a_h)
                add(a_h, x_h, a_h)
                tanh(a_h, hh)                                  # hh, written next to h_tm1
                divide(pair, e_pair, prod)                     # h = z * h_tm1 + (1 - z) * hh
                add(z_h, hh_part, h)
                if per_step:
                    yield h, (h,), (h_tm1,), None
        if outputs is not None:
            outputs[:, start : start + n] = rows[1 : n + 1, :, h_at].swapaxes(0, 1)
        rows[0, :, h_at] = rows[n, :, h_at]
    if not per_step:
        yield rows[0, :, h_at]


__all__ = ["FUSE_INPUTS_MAX_MACS", "FusedKernel", "FusedWeights", "fuse", "fused_weights"]
