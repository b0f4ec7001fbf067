"""The column layout of the fast tanh/sigmoid loop, for batches and layers too large to fuse into rows.

:class:`refgru.core.fused.FusedKernel` runs this loop when it does not use the fused row layout
(:data:`refgru.core.fused.FUSE_INPUTS_MAX_MACS`). The state is kept *transposed*, one column per batch
row: ``h_tm1`` is ``(u, B)``. Then the step matmul ``step_kernel @ [h_tm1; 1; x_t]`` returns every gate as
a block of whole rows of a C-ordered ``(3u, B)`` array, so each NumPy call of the step works on one
contiguous array (a column slice of a ``(B, 3u)`` result would be strided, and measured 2-4x slower
per call), and the biases ride on the constant row of ones under ``h_tm1``.

Where the inputs go is the one choice (:func:`inputs_in_step`):

- **In the step matmul** (``x_t`` rows in the operand, for ``4 * input_dim <= u <=``
  :data:`INPUTS_IN_STEP_MAX_UNITS`): ``g = [-a_r; -a_z; hU_h]`` comes out whole, biases and inputs
  included; a chunk of steps is copied into the operand buffer and ``x_h = W_h^T x_t + b_h`` is
  projected for the chunk at once from its ``[1; x_t]`` rows.
- **Projected per chunk** (other sizes): the operand is ``[h_tm1; 1]``, one matmul projects a chunk's
  ``[-x_r; -x_z; x_h]`` straight from ``x``, and a step adds ``[-x_r; -x_z]`` to ``g[:2u]``. With a
  wide input this is cheaper than a step matmul that also multiplies the zeros of ``hU_h``'s input
  columns; with a narrow one the added pass costs more (measured, see the constant).

Per step, with ``e = [-a_r; -a_z]`` the first ``2u`` rows of ``g``:

1. ``g = step_kernel @ operand`` (and ``e += [-x_r; -x_z]`` when the inputs are projected per chunk).
2. ``e = 1 + exp(e)``, so ``r = 1 / e[:u]`` and ``z = 1 / e[u:]``.
3. ``hh = tanh(hU_h / e_r + x_h)`` (``reset_after``), or ``tanh((h_tm1 / e_r) @ U_h + x_h)``.
4. ``h = hh + (h_tm1 - hh) / e_z``, written into the next step's ``h_tm1`` slot.

Nine or ten NumPy calls per step (the fused row layout has eight, on strided arrays), each on a
contiguous array. The numbers differ from :func:`refgru.core.cell.cell` only by rounding
(tests/test_fast_path.py).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .weights import GRUWeights

#: ``x_t`` rides in the step matmul for ``4 * input_dim <= u`` up to this many units. Measured (benchmarks/,
#: µs per step against projecting per chunk, B, T, D, H): 14.4 against 16.9 at (32, 100, 16, 64), 128.6
#: against 140.4 at (128, 100, 32, 128), 198.7 against 201.6 at (64, 200, 64, 256); but 2459 against 2374
#: at (256, 50, 128, 512), 201 against 181 at (128, 100, 128, 128), 29.0 against 24.5 at (32, 100, 128, 64).
INPUTS_IN_STEP_MAX_UNITS = 256


def inputs_in_step(input_dim: int, units: int) -> bool:
    """Whether the column loop puts ``x_t`` into the step matmul (see the module docstring)."""
    return 4 * input_dim <= units <= INPUTS_IN_STEP_MAX_UNITS


def fuse_columns(w: GRUWeights, dtype: np.dtype, with_inputs: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(step_kernel, input_kernel, input_bias, candidate_kernel)`` for the column layout, in ``dtype``.

    ``step_kernel`` ``(k, u + 1 + d)`` (``d = input_dim`` with ``with_inputs``, else 0) multiplies the
    operand ``[h_tm1; 1; x_t]``: rows ``[-U_r^T, -(b_r + rb_r), -W_r^T; -U_z^T, -(b_z + rb_z), -W_z^T;
    U_h^T, rb_h, 0]`` (the ``hU_h`` block only with ``reset_after``, so ``k`` is ``3u`` or ``2u``).
    ``input_kernel``: with inputs, ``(u, 1 + d)`` ``[b_h, W_h^T]`` (projecting ``x_h`` from the operand's
    ``[1; x_t]`` rows), and ``input_bias`` ``None``; without, ``(3u, d)`` rows ``[-W_r^T; -W_z^T; W_h^T]``,
    and ``input_bias`` ``b_h`` ``(u, 1)``, added to the projection's ``x_h`` rows.
    ``candidate_kernel``: ``U_h^T`` for ``reset_after=False``, else ``None``.
    """
    u, d = w.units, w.input_dim
    no_bias = np.zeros(3 * u, w.dtype)
    b = no_bias if w.input_bias is None else w.input_bias
    rb = no_bias if w.recurrent_bias is None else w.recurrent_bias
    z, r, h = slice(0, u), slice(u, 2 * u), slice(2 * u, 3 * u)  # Keras's gate order [z | r | h]
    step = np.zeros(((3 if w.reset_after else 2) * u, u + 1 + (d if with_inputs else 0)), dtype)
    for rows, gate in ((slice(0, u), r), (slice(u, 2 * u), z)):
        step[rows, :u] = -w.recurrent_kernel[:, gate].T
        step[rows, u] = -(b[gate] + rb[gate])
        if with_inputs:
            step[rows, u + 1:] = -w.kernel[:, gate].T
    if w.reset_after:  # hU_h reads [h_tm1; 1] only: its x_t columns stay 0
        step[2 * u :, :u], step[2 * u :, u] = w.recurrent_kernel[:, h].T, rb[h]
    candidate = None if w.reset_after else np.ascontiguousarray(w.U_h.T, dtype=dtype)
    if with_inputs:
        input_kernel = np.empty((u, 1 + d), dtype)
        input_kernel[:, 0], input_kernel[:, 1:] = b[h], w.kernel[:, h].T
        return step, input_kernel, None, candidate
    input_kernel = np.concatenate([-w.kernel[:, r].T, -w.kernel[:, z].T, w.kernel[:, h].T]).astype(dtype)
    return step, input_kernel, b[h].astype(dtype)[:, None], candidate


def column_loop(f, x: np.ndarray, h0: np.ndarray, outputs: np.ndarray | None, per_step: bool,
                chunk_elements: int) -> Iterator:
    """The loop of the module docstring over ``x`` ``(B, T, d)`` from ``h0`` ``(B, u)``.

    ``f`` is a :class:`refgru.core.fused.FusedWeights` built by :func:`fuse_columns`. With ``per_step``
    it yields ``(h, (h,), (h_tm1,), None)`` per step (``(B, u)`` views of the column buffer ``hb``,
    where a carry the driver writes into ``h`` is what the next step reads), else only the final ``h``.
    ``hb`` ``(chunk + 1, u + 1 (+ d), B)`` holds ``[h; 1 (; x_t)]`` per step of a chunk; ``proj``
    ``(chunk, u or 3u, B)`` the chunk's ``x_h`` or ``[-x_r; -x_z; x_h]``; ``outputs`` ``(B, T, u)`` gets
    each chunk's states.
    """
    batch, steps, d = x.shape
    u, dtype = h0.shape[1], h0.dtype
    with_inputs = f.input_bias is None
    chunk = max(1, min(steps, chunk_elements // max(1, batch * (6 * u + d))))
    hb = np.empty((chunk + 1, f.step_kernel.shape[1], batch), dtype)
    hb[:, u] = 1
    hb[0, :u] = h0.T
    proj = np.empty((chunk, f.input_kernel.shape[0], batch), dtype)
    g = np.empty((f.step_kernel.shape[0], batch), dtype)
    e = g[: 2 * u]
    e_r, e_z, hU_h = e[:u], e[u:], g[2 * u :]
    a_h, hh, diff = (np.empty((u, batch), dtype) for _ in range(3))
    rh = None if f.candidate_kernel is None else np.empty((u, batch), dtype)
    kernel, candidate_kernel = f.step_kernel, f.candidate_kernel
    # Local names for the hot loop (attribute look-ups cost as much as a small NumPy call).
    dot, add, subtract, divide, exp, tanh = np.dot, np.add, np.subtract, np.divide, np.exp, np.tanh
    ones = np.ones_like(e)  # an array operand: cheaper per call than a scalar 1
    for start in range(0, steps, chunk):
        n = min(chunk, steps - start)
        p = proj[:n]
        if with_inputs:
            hb[:n, u + 1 :] = x[:, start : start + n].transpose(1, 2, 0)
            np.matmul(f.input_kernel, hb[:n, u:], out=p)                        # x_h, biases included
            x_gates, x_hs = [None] * n, p
        else:
            np.matmul(f.input_kernel, x[:, start : start + n].transpose(1, 2, 0), out=p)
            add(p[:, 2 * u :], f.input_bias, p[:, 2 * u :])
            x_gates, x_hs = p[:, : 2 * u], p[:, 2 * u :]
        views = zip(hb[:n], hb[:n, :u], hb[1 : n + 1, :u], x_gates, x_hs, strict=True)
        with np.errstate(over="ignore", under="ignore"):  # exp(-a) may overflow: 1 / (1 + inf) = 0 is right
            for operand, h_tm1, h, x_g, x_h in views:
                dot(kernel, operand, g)                        # [-a_r; -a_z; hU_h] (or [-rec_r; -rec_z; hU_h])
                if x_g is not None:
                    add(e, x_g, e)                             # [-a_r; -a_z]
                exp(e, e)                                      # sigmoid(a) = 1 / e with e = 1 + exp(-a)
                add(e, ones, e)
                if candidate_kernel is None:                   # reset_after: r * (h_tm1 @ U_h + rb_h)
                    divide(hU_h, e_r, a_h)
                else:                                          # reset_after=False: (r * h_tm1) @ U_h
                    divide(h_tm1, e_r, rh)
                    dot(candidate_kernel, rh, a_h)
                add(a_h, x_h, a_h)
                tanh(a_h, hh)
                subtract(h_tm1, hh, diff)                      # h = hh + z * (h_tm1 - hh)
                divide(diff, e_z, diff)
                add(hh, diff, h)
                if per_step:
                    yield h.T, (h.T,), (h_tm1.T,), None
        if outputs is not None:
            outputs[:, start : start + n] = hb[1 : n + 1, :u].transpose(2, 0, 1)
        hb[0, :u] = hb[n, :u]
    if not per_step:
        yield hb[0, :u].T


__all__ = ["INPUTS_IN_STEP_MAX_UNITS", "column_loop", "fuse_columns", "inputs_in_step"]
