"""Builders for ``LSTM``, ``SimpleRNN``, legacy ``CuDNNLSTM`` and ``RNN(cell)``, running the one sequence driver.

A :class:`RecurrentLayer` is a stack of cells run over the sequence (one cell for ``LSTM`` and
``SimpleRNN``). Each cell is a *cell run*: a :class:`CellRun` (an LSTM or SimpleRNN cell, through
:func:`refgru.core.rnn_api.run_cells`) or a :class:`~refgru.model.layers_rnn.GRULayer` (a ``GRUCell``,
through :func:`refgru.gru`, so that ``Model.gru_layers()`` lists it as ``<rnn>/cell`` or
``<rnn>/cell_<k>`` and it can be explained and traced).

Keras rules these builders follow:

- ``StackedRNNCells`` (or a list of cells) runs the cells one after the other at each step; the
  RNN's state is every cell's states in order (``[h1, h2, c2]`` flat; Keras 3 nests them per cell, and
  tf-keras unwraps one-state cells). At a masked step every state is carried, so running cell ``k``
  over cell ``k - 1``'s output sequence (in processing order, with the mask in processing order) is the
  same arithmetic as the stacked step. ``go_backwards`` reverses the input of the first cell only, and
  ``return_sequences`` and ``zero_output_for_mask`` shape the last cell's output;
- ``CuDNNLSTM`` stores ``kernel (F, 4u)``, ``recurrent_kernel (u, 4u)`` and ``bias (8u,)`` (input then
  recurrent biases). tf-keras converts them on load (``hdf5_format.preprocess_weights_for_loading``) per
  gate block as for CuDNNGRU and sums the two biases; so does :func:`cudnn_lstm_to_keras`. An ``LSTM``
  holding such arrays is converted the same way. cuDNN layers ignore masks, and compute tanh/sigmoid;
- ``unit_forget_bias`` is read (it only initialises ``b_f``); dropouts are off at inference.
"""

from __future__ import annotations

import numpy as np

from ..core.activations import get_activation
from ..core.precision import REDUCED
from ..core.rnn_api import KINDS, resolve_cell, run_cells
from ..errors import RefgruError, error
from .layers_rnn import GRULayer, cudnn_kernels, first_mask, flat_states, gru_layer, split_states, start_state
from .options import bool_key
from .registry import Layer, activation_name, as_float, check_weights, layer_dtype, layer_policy, register, where
from .rnn_config import cell_specs, rnn_var_groups, weight_count

#: Keras cell class -> the refgru kind of :data:`refgru.core.rnn_api.KINDS` (``GRUCell`` runs as a GRULayer).
CELL_KINDS = {"LSTMCell": "LSTM", "SimpleRNNCell": "SimpleRNN"}
#: The layer flags a cell run receives.
FLAGS = ("return_sequences", "return_state", "go_backwards", "zero_output_for_mask")


def cudnn_lstm_to_keras(kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray) -> list[np.ndarray]:
    """CuDNNLSTM arrays -> ``LSTM`` arrays, as tf-keras converts them on load: ``bias (8u,) -> (4u,)``, summed."""
    bias = np.asarray(bias)
    return cudnn_kernels(kernel, recurrent_kernel, 4) + [bias[: bias.shape[0] // 2] + bias[bias.shape[0] // 2 :]]


def block_arrays(cfg: dict, class_name: str, weights: list, layer: str) -> list[np.ndarray]:
    """Check ``[kernel, recurrent_kernel(, bias)]`` of an LSTM or SimpleRNN (cell) config; convert cuDNN LSTM arrays."""
    units, g = int(cfg["units"]), len(KINDS[layer].weights.GATES)
    kernels = [("kernel", (None, g * units)), ("recurrent_kernel", (units, g * units))]
    held = layer == "LSTM" and len(weights) == 3 and np.shape(weights[2]) == (8 * units,)  # an LSTM with cuDNN arrays
    if class_name == "CuDNNLSTM" or held:
        return cudnn_lstm_to_keras(*check_weights(cfg, class_name, weights, kernels + [("bias", (8 * units,))]))
    bias = [("bias", (g * units,))] if bool_key(cfg, "use_bias", True) else []
    return check_weights(cfg, class_name, weights, kernels + bias)


class CellRun:
    """One LSTM or SimpleRNN cell over a sequence, with the flags its layer gives it."""

    n_states: int

    def __init__(self, layer: str, cfg: dict, class_name: str, weights: list, ctx, flags: dict,
                 cudnn: bool = False):
        self.dtype = layer_dtype(cfg)
        if layer_policy(cfg).compute_dtype in REDUCED:  # only the GRU has the op-by-op rounding kernel
            raise error(f"{where(cfg, class_name)} dtype", f"float32 or float64 compute for {layer} (float16 and "
                        "bfloat16 compute is supported for GRU layers only)", layer_policy(cfg).compute_dtype)
        arrays = block_arrays(cfg, "CuDNNLSTM" if cudnn else class_name, weights, layer)
        self.w = KINDS[layer].weights.from_keras([a.astype(self.dtype) for a in arrays])
        activations = {}
        for key, default in KINDS[layer].activations:
            spec = default if cudnn else activation_name(cfg, key, default)
            get_activation(spec, ctx.keras_version, f"{where(cfg, class_name)} {key}")  # refuse bad names at load
            activations[key] = spec
        extra = {"unit_forget_bias": bool_key(cfg, "unit_forget_bias", True)} if layer == "LSTM" else {}
        self.options = resolve_cell(layer, keras_version=ctx.keras_version, **activations, **extra, **flags)
        self.n_states = len(KINDS[layer].states)
        self.text = f"{class_name} units={self.w.units}, " + "/".join(str(a) for a in activations.values())

    def run_states(self, x, mask, states):
        output, states = run_cells(as_float(x, self.dtype), self.w, states, mask, self.options)
        return output, list(states)

    def describe(self) -> str:
        return self.text


class RecurrentLayer(Layer):
    """``LSTM``, ``SimpleRNN``, ``CuDNNLSTM`` or ``RNN(cell)``: a stack of cell runs, plus ``stateful``."""

    def __init__(self, cfg: dict, class_name: str, cells: list, ctx, uses_mask: bool = True):
        self.cells = cells
        super().__init__(cfg, [], class_name)
        self.weights = [a for cell in cells for a in (cell.w.to_keras() if isinstance(cell, CellRun) else cell.weights)]
        self.sublayers = [cell for cell in cells if isinstance(cell, GRULayer)]
        self.keras_version, self.uses_mask = ctx.keras_version, uses_mask
        for key in (*FLAGS, "stateful"):
            setattr(self, key, bool_key(cfg, key))
        if bool_key(cfg, "time_major"):
            raise RefgruError(f"{where(cfg, class_name)} time_major: expected false (batch-major inputs), got true")
        self.n_states = sum(cell.n_states for cell in cells)
        self.state: tuple | None = None

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:  # a GRUCell is listed as <label>/cell or <label>/cell_<k>
        self._label = value
        for k, cell in enumerate(self.cells):
            if isinstance(cell, GRULayer):
                cell.label = f"{value}/cell" + (f"_{k}" if len(self.cells) > 1 else "")

    def run_states(self, x, mask, states):
        """``(output, [states])`` for ``x (B, T, F)``: each cell over the previous one's output sequence."""
        x = np.asarray(x)
        mask = mask if self.uses_mask else None
        given = start_state(self, list(states) if states else None, x.shape[0])
        if given is not None and len(given) != self.n_states:
            raise RefgruError(f"{where(self.config, self.class_name)} initial_state: expected {self.n_states} "
                              f"arrays (the cells' states in order), got {len(given)}")
        output, finals, offset = x, [], 0
        for k, cell in enumerate(self.cells):
            part = None if given is None else list(given[offset : offset + cell.n_states])
            output, new = cell.run_states(output, mask, part)
            finals += new
            offset += cell.n_states
            if k == 0 and mask is not None and self.go_backwards:
                mask = mask[:, ::-1]  # the later cells read the first one's outputs in processing order
        if self.stateful:
            self.state = tuple(finals)
        return output, finals

    def call(self, inputs, mask, kwargs):
        x, states = split_states(inputs, kwargs)
        output, states = self.run_states(x, first_mask(mask), flat_states(states) or None)
        return [output, *states] if self.return_state else output

    def compute_mask(self, inputs, mask):
        out = first_mask(mask) if self.return_sequences and self.uses_mask else None
        return [out] + [None] * self.n_states if self.return_state else out

    def reset_states(self):
        self.state = None
        super().reset_states()

    def describe(self):
        flags = [k for k in ("return_sequences", "return_state", "go_backwards", "stateful") if getattr(self, k)]
        cells = " -> ".join(_gru_cell_text(c) if isinstance(c, GRULayer) else c.describe() for c in self.cells)
        return cells + "".join(f", {f}" for f in flags)


def _gru_cell_text(cell: GRULayer) -> str:
    o = cell.options()
    return f"GRUCell units={o['units']}, reset_after={o['reset_after']}, {o['activation']}/{o['recurrent_activation']}"


def _cell_flags(cfg: dict, k: int, n: int) -> dict:
    """The flags of cell ``k`` of ``n`` in a stack (see the module docstring)."""
    last = k == n - 1
    return {"return_sequences": bool_key(cfg, "return_sequences") or not last,
            "return_state": bool_key(cfg, "return_state"),
            "go_backwards": bool_key(cfg, "go_backwards") and k == 0,
            "zero_output_for_mask": bool_key(cfg, "zero_output_for_mask") and last}


def _layer(kind: str, class_name: str, cudnn: bool = False):
    def builder(cfg, weights, ctx):
        cell = CellRun(kind, cfg, class_name, weights, ctx, _cell_flags(cfg, 0, 1), cudnn=cudnn)
        return RecurrentLayer(cfg, class_name, [cell], ctx, uses_mask=not cudnn)
    builder.__doc__ = f"``{class_name}``: every option of the layer, plus ``stateful``; dropout is off at inference."
    return builder


register("LSTM", var_groups=("cell/vars",))(_layer("LSTM", "LSTM"))
register("SimpleRNN", var_groups=("cell/vars",))(_layer("SimpleRNN", "SimpleRNN"))
register("CuDNNLSTM", var_groups=("cell/vars",))(_layer("LSTM", "CuDNNLSTM", cudnn=True))


@register("RNN", var_groups=rnn_var_groups)
def rnn_layer(cfg, weights, ctx):
    """``RNN(cell)`` with a ``GRUCell``, ``LSTMCell``, ``SimpleRNNCell``, a ``StackedRNNCells`` or a list of them."""
    specs = cell_specs(cfg)
    expected = weight_count({"class_name": "RNN", "config": cfg}, cfg)
    if len(weights) != expected:
        raise RefgruError(f"{where(cfg, 'RNN')} weights: expected {expected} arrays for its cells "
                          f"({', '.join(s['class_name'] for s in specs)}), got {len(weights)} arrays")
    cells, offset = [], 0
    for k, spec in enumerate(specs):
        n = 3 if spec["config"].get("use_bias", True) else 2
        arrays, offset = weights[offset : offset + n], offset + n
        flags = _cell_flags(cfg, k, len(specs))
        if spec["class_name"] == "GRUCell":
            cell = gru_layer({**spec["config"], **flags, "stateful": False}, arrays, ctx)
            cell.class_name = "GRUCell"
        else:
            cell = CellRun(CELL_KINDS[spec["class_name"]], spec["config"], spec["class_name"], arrays, ctx, flags)
        cells.append(cell)
    return RecurrentLayer(cfg, "RNN", cells, ctx)


__all__ = ["CellRun", "RecurrentLayer", "block_arrays", "cudnn_lstm_to_keras", "rnn_layer"]
