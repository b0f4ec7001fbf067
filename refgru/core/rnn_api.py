"""``lstm`` and ``simple_rnn``: Keras's LSTM and SimpleRNN layers as step kernels of the one sequence driver.

Each is the same pipeline as :func:`refgru.gru`: options resolved once (:func:`resolve_cell`) -> weights
(:class:`~refgru.core.lstm.LSTMWeights`, :class:`~refgru.core.simple_rnn.SimpleRNNWeights`) -> checked
inputs -> :class:`~refgru.core.masking.Schedule` -> :func:`refgru.core.sequence.run` with a
:class:`StatesKernel`. Masks, ``go_backwards``, ``zero_output_for_mask`` and ``return_sequences`` come
from the driver; this module adds only the cells' states: ``(h, c)`` for an LSTM, ``(h,)`` for a SimpleRNN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from ..errors import error
from .activations import ResolvedActivation, check_keras_version, resolve_activation
from .cell import PROJECTION_CHUNK_ELEMENTS
from .checks import check_flag, check_initial_state, check_input, check_mask
from .lstm import LSTMWeights
from .lstm import cell as lstm_cell
from .masking import make_schedule
from .options import FLAGS, RecurrentOptions, check_units, resolve_flags
from .rnn_weights import BlockWeights, project_inputs
from .sequence import run
from .simple_rnn import SimpleRNNWeights
from .simple_rnn import cell as simple_rnn_cell


@dataclass(frozen=True)
class Kind:
    """One cell type: its weights class, its state names, its step (``cell(x_proj, states, w, *acts)``)
    and which activations it takes, with their defaults."""

    weights: type[BlockWeights]
    states: tuple[str, ...]
    cell: Callable
    activations: tuple[tuple[str, str], ...]


#: The cell types by Keras layer name.
KINDS = {
    "LSTM": Kind(LSTMWeights, ("h", "c"), lstm_cell, (("activation", "tanh"), ("recurrent_activation", "sigmoid"))),
    "SimpleRNN": Kind(SimpleRNNWeights, ("h",), simple_rnn_cell, (("activation", "tanh"),)),
}


@dataclass(frozen=True)
class CellOptions(RecurrentOptions):
    """The options of one LSTM or SimpleRNN layer, resolved: the
    :class:`~refgru.core.options.RecurrentOptions` (``stateful`` has no effect in one call) and these.

    Attributes:
        layer: ``"LSTM"`` or ``"SimpleRNN"`` (a key of :data:`KINDS`).
        activations: the resolved activations in the cell's argument order (``activation`` and, for an
            LSTM, ``recurrent_activation``).
        unit_forget_bias: read for LSTM configs; it only initialises ``b_f``, so it changes nothing here.
    """

    layer: str
    activations: tuple[ResolvedActivation, ...]
    unit_forget_bias: bool | None

    @property
    def kind(self) -> Kind:
        return KINDS[self.layer]

    def bind(self, weights: Sequence[np.ndarray] | BlockWeights) -> BlockWeights:
        """``weights`` as the layer's weights class, checked against ``units`` and ``use_bias``."""
        return self.check_weights(self.kind.weights.from_keras(weights))


def resolve_cell(layer: str, *, keras_version: int = 3, units: int | None = None, use_bias: bool | None = None,
                 unit_forget_bias: bool | None = None, **options: object) -> CellOptions:
    """Check every option of an ``LSTM`` or ``SimpleRNN`` layer once and return a :class:`CellOptions`."""
    kind = KINDS[layer]
    names = [name for name, _ in kind.activations]
    allowed = (*names, "keras_version", "units", "use_bias", *(("unit_forget_bias",) if layer == "LSTM" else ()),
               *FLAGS)
    unknown = sorted(set(options) - set(allowed))
    if unknown or (unit_forget_bias is not None and layer != "LSTM"):
        raise error("options", f"{layer} options among {', '.join(allowed)}",
                    got=repr(unknown[0] if unknown else "unit_forget_bias"))
    keras_version = check_keras_version(keras_version)
    units = check_units(units)
    flags = resolve_flags(options)
    activations = tuple(resolve_activation(options.get(name, default), keras_version, name)
                        for name, default in kind.activations)
    return CellOptions(layer, activations, keras_version=keras_version, units=units,
                       use_bias=None if use_bias is None else check_flag("use_bias", use_bias),
                       unit_forget_bias=None if unit_forget_bias is None else check_flag("unit_forget_bias",
                                                                                          unit_forget_bias),
                       **flags)


class StatesKernel:
    """The step kernel of :func:`refgru.core.sequence.run` for a cell ``cell(x_proj, states, w, *activations)
    -> (output_t, states)``: inputs projected ``x @ kernel + bias`` a chunk at a time, then one step each."""

    def __init__(self, cell: Callable, w: BlockWeights, activations: Sequence[Callable],
                 chunk_elements: int = PROJECTION_CHUNK_ELEMENTS):
        self.cell, self.w, self.activations, self.chunk_elements = cell, w, tuple(activations), chunk_elements

    def steps(self, x: np.ndarray, initial_states: tuple[np.ndarray, ...]) -> Iterator[tuple]:
        w, cell, acts = self.w, self.cell, self.activations
        states = tuple(s.copy() for s in initial_states)
        chunk = max(1, self.chunk_elements // max(1, x.shape[0] * w.kernel.shape[1]))
        for start in range(0, x.shape[1], chunk):
            x_proj = project_inputs(x[:, start : start + chunk], w)
            for i in range(x_proj.shape[1]):
                output_t, new = cell(x_proj[:, i], states, w, *acts)
                yield output_t, new, states, None
                states = new


def check_states(initial_state: object, names: tuple[str, ...], batch: int, units: int,
                 dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """``initial_state`` as one ``(B, u)`` array per state name; ``None`` means zeros.

    A one-state cell also takes the bare array (as :func:`refgru.gru` does)."""
    if initial_state is None:
        return tuple(np.zeros((batch, units), dtype) for _ in names)
    if len(names) == 1:
        return (check_initial_state(initial_state, batch, units, dtype),)
    if not isinstance(initial_state, (list, tuple)) or len(initial_state) != len(names):
        raise error("initial_state", f"a list [{', '.join(names)}] of {len(names)} arrays of shape ({batch}, {units})",
                    initial_state)
    return tuple(check_initial_state(s, batch, units, dtype) for s in initial_state)


def run_cells(x: object, weights: Sequence[np.ndarray] | BlockWeights, initial_state: object, mask: object,
              options: CellOptions) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """``(output, final states)`` of the layer ``options`` describes (the pipeline of the module docstring)."""
    kind, w = options.kind, options.bind(weights)
    x = check_input(x, w.input_dim, w.dtype)
    batch, steps, _ = x.shape
    states = check_states(initial_state, kind.states, batch, w.units, x.dtype)
    schedule = make_schedule(x, check_mask(mask, batch, steps), go_backwards=options.go_backwards,
                             return_sequences=options.return_sequences,
                             zero_output_for_mask=options.zero_output_for_mask)
    return run(schedule, StatesKernel(kind.cell, w, [a.forward for a in options.activations]), states)


def _result(output: np.ndarray, states: tuple[np.ndarray, ...], options: CellOptions):
    if not options.return_state:
        return output
    return (output, *states) if options.keras_version == 3 else [output, *states]


def lstm(x: np.ndarray, weights: Sequence[np.ndarray] | LSTMWeights, *,
         initial_state: Sequence[np.ndarray] | None = None, mask: np.ndarray | None = None, **options):
    """Run a Keras LSTM layer over ``x``, with the weights ``LSTM.get_weights()`` returned.

    Arguments:
        x: ``(B, T, input_dim)`` inputs. Integer input is cast to the weights' dtype.
        weights: ``[kernel (input_dim, 4u), recurrent_kernel (u, 4u), bias (4u,)]`` (blocks ``[i, f, c, o]``),
            the same without ``bias`` for ``use_bias=False``, or an :class:`refgru.LSTMWeights`.
        initial_state: ``[h0, c0]``, each ``(B, u)``; zeros by default.
        mask: bool ``(B, T)``; a masked step keeps ``h`` and ``c``, and its output repeats the previous output.
        options: as for :func:`refgru.gru` (``return_sequences``, ``return_state``, ``go_backwards``,
            ``zero_output_for_mask``, ``keras_version``, ``units``, ``use_bias``, ``stateful``), with
            ``activation`` (candidate and ``h = o * activation(c)``, default ``"tanh"``),
            ``recurrent_activation`` (gates ``i, f, o``, default ``"sigmoid"``) and ``unit_forget_bias``
            (accepted; it only initialises ``b_f``).

    Returns:
        ``output`` ``(B, u)`` or ``(B, T, u)``; with ``return_state``, ``(output, h, c)`` as a tuple for
        ``keras_version=3`` and ``[output, h, c]`` as a list for ``keras_version=2``, as each Keras returns it.
    """
    opts = resolve_cell("LSTM", **options)
    return _result(*run_cells(x, weights, initial_state, mask, opts), opts)


def simple_rnn(x: np.ndarray, weights: Sequence[np.ndarray] | SimpleRNNWeights, *,
               initial_state: np.ndarray | Sequence[np.ndarray] | None = None, mask: np.ndarray | None = None,
               **options):
    """Run a Keras SimpleRNN layer over ``x``: ``h = activation(x_t @ W + b + h_tm1 @ U)`` at each step.

    Arguments:
        x: ``(B, T, input_dim)``. weights: ``[W (input_dim, u), U (u, u), b (u,)]`` (or without ``b``),
            or a :class:`refgru.SimpleRNNWeights`.
        initial_state: ``(B, u)`` or ``[(B, u)]``; zeros by default. mask: bool ``(B, T)``.
        options: as for :func:`refgru.lstm`, with only ``activation`` (default ``"tanh"``).

    Returns:
        ``output``; with ``return_state``, ``(output, h)`` (Keras 3) or ``[output, h]`` (tf-keras).
    """
    opts = resolve_cell("SimpleRNN", **options)
    return _result(*run_cells(x, weights, initial_state, mask, opts), opts)


__all__ = ["CellOptions", "KINDS", "Kind", "StatesKernel", "check_states", "lstm", "resolve_cell", "run_cells",
           "simple_rnn"]
