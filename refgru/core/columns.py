"""The column layout of the fast tanh/sigmoid loop, for batches and layers too large to fuse the inputs.

:class:`refgru.core.fused.FusedKernel` runs this loop when it does not fuse ``x_t`` into the step matmul
(:data:`refgru.core.fused.FUSE_INPUTS_MAX_MACS`). The state is kept *transposed*, one column per batch
row: ``h_tm1`` is ``(u, B)``. Then the step matmul ``[U^T | bias] @ [h_tm1; 1]`` returns every gate as a
block of whole rows of a C-ordered ``(3u, B)`` array, so each NumPy call of the step works on one
contiguous array (a column slice of a ``(B, 3u)`` result would be strided, and measured 2-4x slower
per call), and the biases ride on the constant row of ones under ``h_tm1``.

Per step, with ``-a_r = -(x_r + rec_r)`` and ``-a_z = -(x_z + rec_z)`` in rows of ``e``:

1. ``g = [-rec_r; -rec_z; hU_h] = step_kernel @ [h_tm1; 1]`` (with every bias but ``b_h``);
   ``e = g[:2u] + [-x_r; -x_z]`` (the step's input projection, computed for a chunk of steps in one
   matmul, ``b_h`` added to its ``x_h`` rows).
2. ``e = 1 + exp(e)``, so ``r = 1 / e[:u]`` and ``z = 1 / e[u:]``.
3. ``hh = tanh(hU_h / e_r + x_h)`` (``reset_after``), or ``tanh((h_tm1 / e_r) @ U_h + x_h)``.
4. ``h = hh + (h_tm1 - hh) / e_z``, written into the next step's ``h_tm1`` slot.

Ten NumPy calls per step (the fused row layout has eight, on strided arrays), each on a contiguous
array. The numbers differ from :func:`refgru.core.cell.cell` only by rounding (tests/test_fast_path.py).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .weights import GRUWeights


def fuse_columns(w: GRUWeights, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(step_kernel, input_kernel, input_bias, candidate_kernel)`` for the column layout, in ``dtype``.

    ``step_kernel`` ``(k, u + 1)``: rows ``[-U_r^T; -U_z^T; U_h^T]`` (``U_h`` only with ``reset_after``,
    so ``k`` is ``3u`` or ``2u``) and the last column their biases (``-(b_r + rb_r), -(b_z + rb_z), rb_h``:
    the gates' input biases ride there too, which saves a pass over them per step); ``input_kernel``
    ``(3u, input_dim)`` rows ``[-W_r^T; -W_z^T; W_h^T]`` and ``input_bias`` ``b_h`` ``(u, 1)``, added to
    the projection's ``x_h`` rows; ``candidate_kernel`` ``U_h^T`` for ``reset_after=False``, else ``None``.
    """
    u = w.units
    no_bias = np.zeros(3 * u, w.dtype)
    b = no_bias if w.input_bias is None else w.input_bias
    rb = no_bias if w.recurrent_bias is None else w.recurrent_bias
    sign = np.repeat(np.array([-1, -1, 1], w.dtype), u)               # [-r | -z | h] in Keras's [z | r | h]
    order = np.concatenate([np.arange(u, 2 * u), np.arange(u), np.arange(2 * u, 3 * u)])
    gates = 3 if w.reset_after else 2
    rows = slice(0, gates * u)
    step = np.empty((gates * u, u + 1), dtype)
    step[:, :u] = (w.recurrent_kernel[:, order] * sign).T[rows]
    step[:, u] = (rb[order] * sign)[rows]
    step[: 2 * u, u] += (b[order] * sign)[: 2 * u]                   # b_r and b_z are added like rb_r and rb_z
    input_kernel = np.ascontiguousarray((w.kernel[:, order] * sign).T, dtype=dtype)
    input_bias = w.b_h.astype(dtype)[:, None] if w.input_bias is not None else np.zeros((u, 1), dtype)
    candidate = None if w.reset_after else np.ascontiguousarray(w.U_h.T, dtype=dtype)
    return step, input_kernel, input_bias, candidate


def column_loop(f, x: np.ndarray, h0: np.ndarray, outputs: np.ndarray | None, per_step: bool,
                chunk_elements: int) -> Iterator:
    """The loop of the module docstring over ``x`` ``(B, T, d)`` from ``h0`` ``(B, u)``.

    ``f`` is a :class:`refgru.core.fused.FusedWeights` built by :func:`fuse_columns`. With ``per_step``
    it yields ``(h, (h,), (h_tm1,), None)`` per step (``(B, u)`` views of the column buffer ``hb``,
    where a carry the driver writes into ``h`` is what the next step reads), else only the final ``h``.
    ``hb`` ``(chunk + 1, u + 1, B)`` holds ``[h; 1]`` per step of a chunk; ``proj`` ``(chunk, 3u, B)``
    the chunk's input projection; ``outputs`` ``(B, T, u)`` gets each chunk's states.
    """
    batch, steps, d = x.shape
    u, dtype = h0.shape[1], h0.dtype
    chunk = max(1, min(steps, chunk_elements // max(1, batch * 6 * u)))
    hb = np.empty((chunk + 1, u + 1, batch), dtype)
    hb[:, u] = 1
    hb[0, :u] = h0.T
    proj = np.empty((chunk, 3 * u, batch), dtype)
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
        np.matmul(f.input_kernel, x[:, start : start + n].transpose(1, 2, 0), out=p)
        add(p[:, 2 * u :], f.input_bias, p[:, 2 * u :])
        views = zip(hb[:n], hb[:n, :u], hb[1 : n + 1, :u], p[:, : 2 * u], p[:, 2 * u :], strict=True)
        with np.errstate(over="ignore", under="ignore"):  # exp(-a) may overflow: 1 / (1 + inf) = 0 is right
            for operand, h_tm1, h, x_g, x_h in views:
                dot(kernel, operand, g)                        # [-rec_r; -rec_z; hU_h], biases included
                add(e, x_g, e)                                 # [-a_r; -a_z]
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


__all__ = ["column_loop", "fuse_columns"]
