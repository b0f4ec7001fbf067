"""``trace``: every value a GRU computes at every step, as a table and (with matplotlib) a plot.

For each step ``t`` (``h_tm1`` is the state before the step, ``h0`` at ``t = 0``)::

    pre_z = x_z + rec_z        z  = recurrent_activation(pre_z)      update gate
    pre_r = x_r + rec_r        r  = recurrent_activation(pre_r)      reset gate
    pre_h = x_h + rec_h        hh = activation(pre_h)                candidate state
                               h  = z * h_tm1 + (1 - z) * hh         new state

with the input parts ``x_z, x_r, x_h = x_t @ [W_z | W_r | W_h] + [b_z | b_r | b_h]`` and the recurrent
parts ``rec_z = h_tm1 @ U_z (+ rb_z)``, ``rec_r = h_tm1 @ U_r (+ rb_r)``, and ``rec_h`` =
``r * (h_tm1 @ U_h + rb_h)`` (``reset_after=True``) or ``(r * h_tm1) @ U_h`` (``reset_after=False``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .activations import Activation, check_keras_version, get_activation
from .cell import cell, project_inputs
from .errors import error
from .layer import check_initial_state, check_input
from .weights import GRUWeights, as_numeric, as_weights

#: The per-step arrays of a :class:`Trace`, each ``(B, T, u)`` (``(T, u)`` for a single sequence).
FIELDS = ("x_z", "x_r", "x_h", "rec_z", "rec_r", "rec_h", "pre_z", "pre_r", "pre_h", "z", "r", "hh", "h")


def activation_name(spec: str | Activation | None) -> str:
    """The name to print for an activation given as a Keras name, ``None`` or a callable."""
    if spec is None:
        return "linear"
    return spec if isinstance(spec, str) else getattr(spec, "__name__", repr(spec))


@dataclass(frozen=True, eq=False, repr=False)
class Trace:
    """The values of every step of a GRU run.

    Arrays are ``(B, T, u)`` for a batch and ``(T, u)`` for a single sequence (``single=True``);
    ``x`` is ``(B, T, input_dim)`` or ``(T, input_dim)`` and ``h0`` is ``(B, u)`` or ``(u,)``. The
    fields ``x_z ... h`` are the names of the module docstring; ``h[..., t, :]`` is the output of step
    ``t`` and ``h[..., -1, :]`` the final state, what ``keras.layers.GRU`` returns.
    """

    x: np.ndarray
    h0: np.ndarray
    x_z: np.ndarray
    x_r: np.ndarray
    x_h: np.ndarray
    rec_z: np.ndarray
    rec_r: np.ndarray
    rec_h: np.ndarray
    pre_z: np.ndarray
    pre_r: np.ndarray
    pre_h: np.ndarray
    z: np.ndarray
    r: np.ndarray
    hh: np.ndarray
    h: np.ndarray
    reset_after: bool
    activation: str
    recurrent_activation: str
    keras_version: int
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

    @property
    def h_tm1(self) -> np.ndarray:
        """The state before each step, like ``h``: ``h0`` then ``h`` of the steps before."""
        first = self.h0[..., None, :]
        return np.concatenate([first, self.h[..., :-1, :]], axis=-2)

    @property
    def state(self) -> np.ndarray:
        """The final state ``h`` after the last step: ``(B, u)`` or ``(u,)``."""
        return self.h[..., -1, :]

    def sequence(self, index: int = 0) -> dict[str, np.ndarray]:
        """The arrays of one sequence: ``x`` ``(T, input_dim)``, ``h_tm1`` and every field ``(T, u)``."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -self.batch <= index < self.batch:
            raise error("sequence", f"an index in [0, {self.batch})", index)
        pick = (lambda a: a) if self.single else (lambda a: a[index])
        out = {"x": pick(self.x), "h_tm1": pick(self.h_tm1)}
        out.update({name: pick(getattr(self, name)) for name in FIELDS})
        return out

    def rows(self, sequence: int = 0, parts: bool = False) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the step table of one sequence: one row per step ``t`` and unit ``j``."""
        s = self.sequence(sequence)
        names = ["h_tm1"] + (["x_z", "rec_z", "pre_z", "z", "x_r", "rec_r", "pre_r", "r", "x_h", "rec_h", "pre_h", "hh"]
                             if parts else ["pre_z", "z", "pre_r", "r", "pre_h", "hh"]) + ["h"]
        header = ["t", "x_t", "j"] + names
        rows = []
        for t in range(self.steps):
            x_t = s["x"][t]
            shown = ", ".join(f"{v:.4g}" for v in x_t[:4]) + (", ..." if x_t.size > 4 else "")
            for j in range(self.units):
                first = j == 0
                rows.append([str(t) if first else "", f"[{shown}]" if first else "", str(j)]
                            + [f"{float(s[n][t, j]):+.4f}" for n in names])
        return header, rows

    def table(self, sequence: int = 0, parts: bool = False) -> str:
        """A plain-text step table of one sequence, with a legend of the columns."""
        header, rows = self.rows(sequence, parts)
        widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
        line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        title = (f"sequence {sequence} of {self.batch}: reset_after={self.reset_after}, "
                 f"activation={self.activation!r}, recurrent_activation={self.recurrent_activation!r}, "
                 f"keras_version={self.keras_version}")
        return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows), *self.legend()])

    def legend(self) -> list[str]:
        """What the columns mean, in the equations of this trace's variant."""
        rec_h = "r * (h_tm1 @ U_h + rb_h)" if self.reset_after else "(r * h_tm1) @ U_h"
        rb = " + rb_{g}" if self.reset_after else ""
        ract = self.recurrent_activation
        return [
            "columns: t = step, x_t = input, j = unit, h_tm1 = state before the step (h0 = zeros unless given)",
            f"  pre_z = x_t @ W_z + b_z + h_tm1 @ U_z{rb.format(g='z')}   z = {ract}(pre_z)   update gate",
            f"  pre_r = x_t @ W_r + b_r + h_tm1 @ U_r{rb.format(g='r')}   r = {ract}(pre_r)   reset gate",
            f"  pre_h = x_t @ W_h + b_h + {rec_h}   hh = {self.activation}(pre_h)   candidate",
            "  h = z * h_tm1 + (1 - z) * hh   new state (= the layer's output at this step)",
        ]

    def __str__(self) -> str:
        return "\n\n".join(self.table(b) for b in range(self.batch))

    def __repr__(self) -> str:
        kind = "1 sequence" if self.single else f"batch of {self.batch}"
        return (f"<Trace: {kind}, {self.steps} steps, units={self.units}, reset_after={self.reset_after}, "
                f"activation={self.activation!r}, recurrent_activation={self.recurrent_activation!r}>")

    def plot(self, path: str | None = None, sequence: int = 0):
        """Plot ``z``, ``r``, ``hh`` and ``h`` of one sequence over the steps, one line per unit.

        Needs matplotlib (``pip install 'refgru[plot]'``), imported here. Returns the
        ``matplotlib.figure.Figure``; with ``path``, also writes it there (the format follows the
        file extension, e.g. ``.png``).
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("plotting needs matplotlib: pip install 'refgru[plot]'") from None
        s = self.sequence(sequence)
        steps = np.arange(self.steps)
        fig = Figure(figsize=(9, 6), layout="constrained")
        axes = fig.subplots(2, 2, sharex=True)
        titles = {"z": "update gate z", "r": "reset gate r", "hh": f"candidate hh = {self.activation}(pre_h)",
                  "h": "state h = z * h_tm1 + (1 - z) * hh"}
        for ax, (name, title) in zip(axes.flat, titles.items()):
            for j in range(self.units):
                ax.plot(steps, s[name][:, j], marker="o", label=f"unit {j}")
            ax.set_title(title)
            ax.grid(True, alpha=0.3)
            if name in ("z", "r"):
                ax.set_ylim(-0.05, 1.05)
        for ax in axes[1]:
            ax.set_xlabel("step t")
            ax.set_xticks(steps)
        axes[0, 0].legend(loc="best", fontsize="small")
        fig.suptitle(f"GRU gates over time (sequence {sequence}, reset_after={self.reset_after})")
        if path is not None:
            fig.savefig(path)
        return fig


def trace(x: np.ndarray, weights: Sequence[np.ndarray] | GRUWeights, *, reset_after: bool | None = None,
          activation: str | Activation = "tanh", recurrent_activation: str | Activation = "sigmoid",
          keras_version: int = 3, initial_state: np.ndarray | None = None) -> Trace:
    """Run a GRU over ``x`` and keep every intermediate value of every step.

    Arguments:
        x: ``(T, input_dim)`` one sequence, or ``(B, T, input_dim)`` a batch.
        weights: ``GRU.get_weights()`` (``[kernel (input_dim, 3u), recurrent_kernel (u, 3u), bias]``,
            bias ``(2, 3u)``, ``(3u,)`` or absent) or a :class:`GRUWeights`.
        reset_after, activation, recurrent_activation, keras_version: as in :func:`refgru.gru`.
        initial_state: ``h0``, ``(u,)`` for one sequence or ``(B, u)`` for a batch; zeros by default.

    Returns:
        A :class:`Trace` with ``pre_z, pre_r, pre_h, z, r, hh, h`` (and the parts ``x_*``, ``rec_*``),
        each ``(T, u)`` or ``(B, T, u)``. Its ``h`` is ``refgru.gru(x, weights, return_sequences=True)``
        (up to rounding); ``str(trace)`` is the step table, ``trace.plot(path)`` the gate plot.
    """
    keras_version = check_keras_version(keras_version)
    w = as_weights(weights, reset_after)
    act = get_activation(activation, keras_version, "activation")
    ract = get_activation(recurrent_activation, keras_version, "recurrent_activation")
    array = as_numeric("x", x, "a numeric array of shape (T, input_dim) or (B, T, input_dim)")
    single = array.ndim == 2
    if array.ndim not in (2, 3):
        raise error("x", "shape (T, input_dim) for one sequence or (B, T, input_dim) for a batch", array)
    xs = check_input(array[None] if single else array, w)
    if single and initial_state is not None:
        state = as_numeric("initial_state", initial_state)
        if state.ndim != 1:
            raise error("initial_state", f"shape ({w.units},) = (units,) for a single sequence", state)
        initial_state = state[None]
    h = check_initial_state(initial_state, xs.shape[0], w, xs.dtype)
    h0 = h.copy()
    x_proj = project_inputs(xs, w)
    steps = [None] * xs.shape[1]
    for t in range(xs.shape[1]):
        steps[t] = cell(x_proj[:, t], h, w, act, ract, gates=True)
        h = steps[t].h
    names = ("x_z", "x_r", "x_h", "rec_z", "rec_r", "rec_h", "z", "r", "hh", "h")
    values = {name: np.stack([getattr(s, name) for s in steps], axis=1) for name in names}
    values.update(pre_z=values["x_z"] + values["rec_z"], pre_r=values["x_r"] + values["rec_r"],
                  pre_h=values["x_h"] + values["rec_h"])
    if single:
        values = {k: v[0] for k, v in values.items()}
    return Trace(x=xs[0] if single else xs, h0=h0[0] if single else h0, **values, reset_after=w.reset_after,
                 activation=activation_name(activation), recurrent_activation=activation_name(recurrent_activation),
                 keras_version=keras_version, single=single)


__all__ = ["FIELDS", "Trace", "activation_name", "trace"]
