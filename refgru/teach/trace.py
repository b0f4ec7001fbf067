"""``trace``: every value a GRU computes at every step, recorded through the one sequence driver.

For each step ``t`` in processing order (``h_tm1`` is the state before the step, ``h0`` at ``t = 0``)::

    a_z = x_z + rec_z        z  = recurrent_activation(a_z)      update gate
    a_r = x_r + rec_r        r  = recurrent_activation(a_r)      reset gate
    a_h = x_h + rec_h        hh = activation(a_h)                candidate state
                             h  = z * h_tm1 + (1 - z) * hh       the layer's output at the step

with the input parts ``x_z, x_r, x_h = x_t @ [W_z | W_r | W_h] + [b_z | b_r | b_h]`` and the recurrent
parts ``rec_z = h_tm1 @ U_z (+ rb_z)``, ``rec_r = h_tm1 @ U_r (+ rb_r)``, and ``rec_h`` =
``r * (h_tm1 @ U_h + rb_h)`` (``reset_after=True``) or ``(r * h_tm1) @ U_h`` (``reset_after=False``).

The run is :func:`refgru.core.sequence.run` with the recording kernel, so masks, ``go_backwards``,
``initial_state`` and ``zero_output_for_mask`` follow Keras exactly as :func:`refgru.gru` does: at a
masked step (``keep`` False) the cell's values are what it computed and threw away, ``h`` is the
layer's output there (the previous output, or zeros), and the state is carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.api import prepare
from ..core.cell import CellKernel
from ..core.checks import as_numeric
from ..core.options import resolve
from ..core.precision import RoundingKernel
from ..core.sequence import run
from ..core.weights import GRUWeights
from ..errors import error
from . import plot, render

#: The per-step arrays of a :class:`Trace` from the cell, each ``(B, T, u)`` (``(T, u)`` for a single sequence).
FIELDS = ("x_z", "x_r", "x_h", "rec_z", "rec_r", "rec_h", "a_z", "a_r", "a_h", "z", "r", "hh", "h")


@dataclass(frozen=True, eq=False, repr=False)
class Trace:
    """The values of every step of a GRU run, in processing order.

    Arrays are ``(B, T, u)`` for a batch and ``(T, u)`` for a single sequence (``single=True``); ``x``
    is ``(B, T, input_dim)`` or ``(T, input_dim)`` in processing order (reversed with ``go_backwards``),
    ``keep`` ``(B, T)`` or ``(T,)`` the mask in processing order (all True without one), ``h0`` and
    ``state`` ``(B, u)`` or ``(u,)``. The fields ``x_z ... hh`` are the names of the module docstring;
    ``h_tm1`` is the state each step started from, ``h[..., t, :]`` the layer's output at step ``t``
    (what ``refgru.gru(..., return_sequences=True)`` returns) and ``state`` the final state.
    """

    x: np.ndarray
    h0: np.ndarray
    keep: np.ndarray
    h_tm1: np.ndarray
    x_z: np.ndarray
    x_r: np.ndarray
    x_h: np.ndarray
    rec_z: np.ndarray
    rec_r: np.ndarray
    rec_h: np.ndarray
    a_z: np.ndarray
    a_r: np.ndarray
    a_h: np.ndarray
    z: np.ndarray
    r: np.ndarray
    hh: np.ndarray
    h: np.ndarray
    state: np.ndarray
    reset_after: bool
    activation: str
    recurrent_activation: str
    keras_version: int
    go_backwards: bool
    zero_output_for_mask: bool
    single: bool

    @property
    def steps(self) -> int:
        return self.h.shape[-2]

    @property
    def units(self) -> int:
        return self.h.shape[-1]

    @property
    def batch(self) -> int:
        """Number of sequences (1 for a single sequence)."""
        return 1 if self.single else self.h.shape[0]

    def sequence(self, index: int = 0) -> dict[str, np.ndarray]:
        """One sequence's arrays: ``x`` ``(T, input_dim)``, ``keep`` ``(T,)``, ``h_tm1`` and every field ``(T, u)``."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -self.batch <= index < self.batch:
            raise error("sequence", f"an index in [0, {self.batch})", index)
        pick = (lambda a: a) if self.single else (lambda a: a[index])
        return {name: pick(getattr(self, name)) for name in ("x", "keep", "h_tm1", *FIELDS)}

    def rows(self, sequence: int = 0, parts: bool = False) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the step table of one sequence: one row per step ``t`` and unit ``j``."""
        return render.trace_rows(self, sequence, parts)

    def table(self, sequence: int = 0, parts: bool = False) -> str:
        """A plain-text step table of one sequence, with a legend of the columns."""
        return render.trace_table(self, sequence, parts)

    def legend(self) -> list[str]:
        """What the columns mean, in the equations of this trace's variant."""
        return render.trace_legend(self)

    def __str__(self) -> str:
        return "\n\n".join(self.table(b) for b in range(self.batch))

    def _repr_html_(self) -> str:
        """HTML for Jupyter: the equations of the columns and the step table of each sequence."""
        return render.trace_html(self)

    def __repr__(self) -> str:
        kind = "1 sequence" if self.single else f"batch of {self.batch}"
        return (f"<Trace: {kind}, {self.steps} steps, units={self.units}, reset_after={self.reset_after}, "
                f"activation={self.activation!r}, recurrent_activation={self.recurrent_activation!r}>")

    def plot(self, path: str | None = None, sequence: int = 0):
        """Plot ``z``, ``r``, ``hh`` and ``h`` of one sequence; see :func:`refgru.teach.plot.plot_trace`."""
        return plot.plot_trace(self, path, sequence)


def _single(name: str, value: object, shape: str) -> np.ndarray | None:
    """A per-sequence argument of a single ``(T, input_dim)`` sequence, given one batch row."""
    if value is None:
        return None
    array = as_numeric(name, value, finite=name != "mask")
    if array.ndim != 1:
        raise error(name, f"shape {shape} for a single sequence", array)
    return array[None]


def trace(x: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, *, initial_state: np.ndarray | None = None,
          mask: np.ndarray | None = None, **options) -> Trace:
    """Run a GRU over ``x`` and keep every intermediate value of every step.

    Arguments:
        x: ``(T, input_dim)`` one sequence, or ``(B, T, input_dim)`` a batch.
        weights: ``GRU.get_weights()`` (``[kernel (input_dim, 3u), recurrent_kernel (u, 3u), bias]``,
            bias ``(2, 3u)``, ``(3u,)`` or absent) or a :class:`GRUWeights`.
        initial_state: ``h0``, ``(u,)`` for one sequence or ``(B, u)`` for a batch; zeros by default.
        mask: ``(T,)`` for one sequence or ``(B, T)`` for a batch, as in :func:`refgru.gru`.
        options: every option of :func:`refgru.gru` (``activation``, ``recurrent_activation``,
            ``reset_after``, ``keras_version``, ``go_backwards``, ``zero_output_for_mask``, and those
            :meth:`refgru.model.Model.gru_layers` returns). ``return_sequences`` and ``return_state``
            are accepted and change nothing: a trace always records every step.

    Returns:
        A :class:`Trace` with ``a_z, a_r, a_h, z, r, hh, h`` (and the parts ``x_*``, ``rec_*``), each
        ``(T, u)`` or ``(B, T, u)`` in processing order. Its ``h`` equals
        ``refgru.gru(x, weights, return_sequences=True, ...)`` at every step (up to rounding), masked
        steps included; ``str(trace)`` is the step table, ``trace.plot(path)`` the gate plot.
    """
    opts = resolve(**{**options, "return_sequences": True})
    array = as_numeric("x", x, "a numeric array of shape (T, input_dim) or (B, T, input_dim)")
    if array.ndim not in (2, 3):
        raise error("x", "shape (T, input_dim) for one sequence or (B, T, input_dim) for a batch", array)
    single = array.ndim == 2
    if single:
        units = opts.bind(weights).units
        initial_state = _single("initial_state", initial_state, f"({units},) = (units,)")
        mask = _single("mask", mask, f"({array.shape[0]},) = (T,)")
    p = prepare(array[None] if single else array, weights, initial_state, mask, opts)
    w, schedule = p.w, p.schedule
    gates, h_tm1s = [], []

    def record(t, step, output):
        gates.append(step[3]._replace(h=output.copy()))
        h_tm1s.append(step[2][0])

    fns = (w, opts.activation.forward, opts.recurrent_activation.forward)
    kernel = (RoundingKernel(*fns, opts.compute_dtype, record_gates=True) if opts.compute_dtype
              else CellKernel(*fns, record_gates=True))
    _, (state,) = run(schedule, kernel, (p.h0,), record=record)
    values = {name: np.stack([getattr(g, name) for g in gates], axis=1) for name in FIELDS}
    values["h_tm1"] = np.stack(h_tm1s, axis=1)
    keep = np.ones((schedule.batch, schedule.steps), bool) if schedule.keep is None else schedule.keep[..., 0].T
    values.update(x=schedule.x, h0=p.h0, keep=keep, state=state)
    if single:
        values = {k: v[0] for k, v in values.items()}
    return Trace(**values, reset_after=w.reset_after, activation=opts.activation.name,
                 recurrent_activation=opts.recurrent_activation.name, keras_version=opts.keras_version,
                 go_backwards=opts.go_backwards, zero_output_for_mask=opts.zero_output_for_mask, single=single)


__all__ = ["FIELDS", "Trace", "trace"]
