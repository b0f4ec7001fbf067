"""Builders for ``GRU``, legacy ``CuDNNGRU`` and ``Bidirectional``, running :func:`refgru.gru`.

``LSTM``, ``SimpleRNN``, ``CuDNNLSTM`` and ``RNN(cell)`` are in :mod:`refgru.model.layers_cells`; every
recurrent layer offers ``n_states`` and ``run_states(x, mask, states) -> (output, [states])``, which is
what ``Bidirectional`` and a stack of cells call.

Keras rules these builders follow (``shared/keras-facts.md``):

- a GRU config without ``reset_after`` comes from Keras <= 2.1, which always used ``reset_after=False``;
- a ``(6u,)`` bias is a CuDNNGRU's. It is converted as tf-keras converts it on load
  (``_convert_rnn_weights``): per gate block, ``W = k.T.reshape(k.shape, order="F")`` and ``U = k.T``,
  and the bias becomes ``(2, 3u)``. The gate order stays ``[z, r, h]``;
- ``Bidirectional`` forces ``zero_output_for_mask = return_sequences`` on both directions, runs a
  ``go_backwards`` copy, and with ``return_sequences`` reverses its output back along time before merging;
- a GRU passes its input mask on (unreversed, even with ``go_backwards``) when it returns sequences;
- a stateful layer given an ``initial_state`` follows the saving version (:func:`start_state`).
"""

from __future__ import annotations

import numpy as np

from ..core.activations import get_activation
from ..core.api import gru_resolved, resolved
from ..core.weights import GRUWeights
from ..errors import RefgruError, describe
from .options import bool_key
from .registry import Layer, activation_name, as_float, check_weights, layer_dtype, layer_policy, register, where
from .rnn_config import bidirectional_var_groups, weight_count


def cudnn_kernels(kernel: np.ndarray, recurrent_kernel: np.ndarray, gates: int) -> list[np.ndarray]:
    """cuDNN kernels -> Keras kernels, per gate block as tf-keras converts them on load (``gates``: 3 or 4)."""
    kernel = np.hstack([k.T.reshape(k.shape, order="F") for k in np.hsplit(kernel, gates)])
    return [kernel, np.hstack([k.T for k in np.hsplit(recurrent_kernel, gates)])]


def cudnn_to_keras(kernel: np.ndarray, recurrent_kernel: np.ndarray, bias: np.ndarray) -> list[np.ndarray]:
    """CuDNNGRU arrays -> ``GRU(reset_after=True)`` arrays, exactly as tf-keras converts them on load.

    Arguments: ``kernel (F, 3u)``, ``recurrent_kernel (u, 3u)``, ``bias (6u,)`` (input then recurrent).
    Returns: ``[kernel (F, 3u), recurrent_kernel (u, 3u), bias (2, 3u)]``.
    """
    return cudnn_kernels(kernel, recurrent_kernel, 3) + [np.asarray(bias).reshape(2, -1)]


def start_state(layer: Layer, given, batch: int):
    """The states a (possibly stateful) layer starts from: ``given`` (``None``: zeros) or its carried ``layer.state``.

    A stateful layer uses its carried state when no ``initial_state`` is given. Given one, Keras 3 always
    uses it; tf-keras (``base_rnn._process_inputs``) uses the carried state whenever any of it is
    non-zero, and the given one only while it is all zeros (before the first call, after ``reset_states()``).
    """
    carried = layer.state
    if not layer.stateful or carried is None:
        return given
    arrays = [carried] if isinstance(carried, np.ndarray) else list(carried)
    if arrays[0].shape[0] != batch:
        raise RefgruError(f"{where(layer.config, layer.class_name)} batch: expected {arrays[0].shape[0]} rows "
                          f"(a stateful layer keeps its batch size until reset_states()), got {batch}")
    if given is None or (layer.keras_version == 2 and any(a.any() for a in arrays)):
        return carried
    return given



class GRULayer(Layer):
    """A Keras ``GRU`` (or ``CuDNNGRU``): :func:`refgru.gru` plus ``stateful``."""

    def __init__(self, cfg, class_name, weights: GRUWeights, arrays, ctx, *, activation_spec, recurrent_spec,
                 uses_mask=True):
        super().__init__(cfg, arrays, class_name)
        self.w, self.keras_version, self.uses_mask = weights, ctx.keras_version, uses_mask
        self.dtype, self.compute_dtype = layer_dtype(cfg), layer_policy(cfg).compute_dtype
        self.activation, self.recurrent_activation = activation_spec, recurrent_spec
        for key in ("return_sequences", "return_state", "go_backwards", "stateful", "zero_output_for_mask"):
            setattr(self, key, bool_key(cfg, key))
        if bool_key(cfg, "time_major"):
            raise RefgruError(f"{where(cfg, class_name)} time_major: expected false (batch-major inputs), got true")
        for key, spec in (("activation", activation_spec), ("recurrent_activation", recurrent_spec)):
            get_activation(spec, ctx.keras_version, f"{where(cfg, class_name)} {key}")  # refuse bad names at load
        self.state: np.ndarray | None = None
        # The layer's options never change: resolved once (run() always asks for the state too).
        self._gru_options = resolved({**self.options(), "return_state": True})

    def options(self) -> dict:
        """The GRU options, as the ``config_dict`` of :meth:`refgru.model.Model.gru_layers`."""
        keys = ("return_sequences", "return_state", "go_backwards", "stateful", "zero_output_for_mask")
        return {"units": self.w.units, "activation": self.activation, "recurrent_activation": self.recurrent_activation,
                "keras_version": self.keras_version, "reset_after": self.w.reset_after, "use_bias": self.w.use_bias,
                "compute_dtype": self.compute_dtype,
                **{k: getattr(self, k) for k in keys}}

    def run(self, x, mask, initial_state):
        """``(output, state)`` for ``x (B, T, F)``, starting from (and then keeping) the carried state if stateful."""
        x = as_float(x, self.dtype)
        mask = mask if self.uses_mask else None
        initial_state = start_state(self, initial_state, x.shape[0])
        if initial_state is not None:
            initial_state = as_float(initial_state, self.dtype)
        output, state = gru_resolved(x, self.w, self._gru_options, initial_state, mask)
        if self.stateful:
            self.state = state
        return output, state

    n_states = 1

    def run_states(self, x, mask, states):
        """:meth:`run` with the states as a list: ``(output, [h])``."""
        output, state = self.run(x, mask, states[0] if states else None)
        return output, [state]

    def call(self, inputs, mask, kwargs):
        x, states = split_states(inputs, kwargs)
        output, state = self.run(x, first_mask(mask), states[0] if states else None)
        return [output, state] if self.return_state else output

    def compute_mask(self, inputs, mask):
        out = first_mask(mask) if self.return_sequences and self.uses_mask else None
        return [out, None] if self.return_state else out

    def reset_states(self):
        self.state = None

    def describe(self):
        o = self.options()
        flags = [k for k in ("return_sequences", "return_state", "go_backwards", "stateful") if o[k]]
        return (f"units={o['units']}, reset_after={o['reset_after']}, {o['activation']}/{o['recurrent_activation']}"
                + "".join(f", {f}" for f in flags))


def first_mask(mask):
    return mask[0] if isinstance(mask, list) else mask


def flat_states(states) -> list:
    """Keras 3's nested ``initial_state`` (``[[h1], [h2, c2]]`` for stacked cells) as one flat list."""
    flat = []
    for s in states or []:
        flat.extend(flat_states(s) if isinstance(s, (list, tuple)) else [s])
    return flat


def split_states(inputs, kwargs) -> tuple[np.ndarray, list]:
    """``(x, states)`` from ``[x, *states]`` inputs (tf-keras) or an ``initial_state`` argument (Keras 3)."""
    states = kwargs.get("initial_state")
    if states is None and kwargs.get("args"):
        states = kwargs["args"][0]
    if isinstance(inputs, list):
        inputs, states = inputs[0], inputs[1:] or states
    if states is not None and not isinstance(states, list):
        states = [states]
    return inputs, states or []


def _kernels(units: int) -> list[tuple[str, tuple]]:
    return [("kernel", (None, 3 * units)), ("recurrent_kernel", (units, 3 * units))]


def _gru_arrays(cfg, class_name, weights, units, reset_after, use_bias):
    """Check the arrays against the config; convert a CuDNNGRU ``(6u,)`` bias as tf-keras does."""
    if use_bias and len(weights) == 3 and np.shape(weights[2]) == (6 * units,):
        if not reset_after:
            raise RefgruError(f"{where(cfg, class_name)} weights: expected a bias of shape ({3 * units},) for "
                              f"reset_after=False, got a CuDNNGRU bias ({6 * units},), which needs reset_after=True")
        weights = cudnn_to_keras(*check_weights(cfg, class_name, weights, _kernels(units) + [("bias", (6 * units,))]))
    bias = [("bias", (2, 3 * units) if reset_after else (3 * units,))] if use_bias else []
    return check_weights(cfg, class_name, weights, _kernels(units) + bias)


@register("GRU", var_groups=("cell/vars",))
def gru_layer(cfg, weights, ctx):
    """``GRU``: every option of :func:`refgru.gru`, plus ``stateful``; dropout is off at inference."""
    units, use_bias = int(cfg["units"]), bool_key(cfg, "use_bias", True)
    reset_after = bool_key(cfg, "reset_after", False)  # absent only in Keras <= 2.1 files: reset_after=False then
    arrays = _gru_arrays(cfg, "GRU", weights, units, reset_after, use_bias)
    dtype = layer_dtype(cfg)
    w = GRUWeights.from_keras([a.astype(dtype) for a in arrays], reset_after)
    return GRULayer(cfg, "GRU", w, arrays, ctx, activation_spec=activation_name(cfg, "activation", "tanh"),
                    recurrent_spec=activation_name(cfg, "recurrent_activation", "sigmoid"))


@register("CuDNNGRU", var_groups=("cell/vars",))
def cudnn_gru(cfg, weights, ctx):
    """Legacy ``CuDNNGRU``: a ``GRU(reset_after=True)`` with tanh/sigmoid after converting its arrays."""
    units = int(cfg["units"])
    arrays = cudnn_to_keras(*check_weights(cfg, "CuDNNGRU", weights, _kernels(units) + [("bias", (6 * units,))]))
    w = GRUWeights.from_keras([a.astype(layer_dtype(cfg)) for a in arrays], True)
    return GRULayer(cfg, "CuDNNGRU", w, arrays, ctx, activation_spec="tanh", recurrent_spec="sigmoid",
                    uses_mask=False)


MERGE_MODES = {
    "concat": lambda y, y_rev: np.concatenate([y, y_rev], axis=-1),
    "sum": lambda y, y_rev: y + y_rev,
    "mul": lambda y, y_rev: y * y_rev,
    "ave": lambda y, y_rev: (y + y_rev) / np.asarray(2, y.dtype),
    None: lambda y, y_rev: [y, y_rev],
}


class Bidirectional(Layer):
    """``Bidirectional``: a forward recurrent layer and a ``go_backwards`` one, merged by ``merge_mode``."""

    def __init__(self, cfg, forward: Layer, backward: Layer, merge_mode):
        super().__init__(cfg, forward.weights + backward.weights, "Bidirectional")
        self.forward, self.backward, self.merge_mode = forward, backward, merge_mode
        self.sublayers = [forward, backward]
        forward.label, backward.label = f"{self.name}/forward", f"{self.name}/backward"
        self.return_sequences, self.return_state = forward.return_sequences, forward.return_state

    def call(self, inputs, mask, kwargs):
        x, states = split_states(inputs, kwargs)
        states = flat_states(states)
        n = self.forward.n_states
        if states and len(states) != n + self.backward.n_states:
            raise RefgruError(f"{where(self.config, 'Bidirectional')} initial_state: expected {n} forward and "
                              f"{self.backward.n_states} backward states, got {len(states)} arrays")
        y, s_fw = self.forward.run_states(x, first_mask(mask), states[:n] if states else None)
        y_rev, s_bw = self.backward.run_states(x, first_mask(mask), states[n:] if states else None)
        if self.return_sequences:
            y_rev = np.flip(y_rev, axis=1)
        merged = MERGE_MODES[self.merge_mode](y, y_rev)
        outputs = (merged if isinstance(merged, list) else [merged]) + (s_fw + s_bw if self.return_state else [])
        return outputs if len(outputs) > 1 else outputs[0]

    def compute_mask(self, inputs, mask):
        out = first_mask(mask) if self.return_sequences else None
        n = self.forward.n_states + self.backward.n_states
        masks = ([out, out] if self.merge_mode is None else [out]) + ([None] * n if self.return_state else [])
        return masks if len(masks) > 1 else masks[0]

    def describe(self):
        return f"merge_mode={self.merge_mode}; forward {self.forward.describe()}; backward {self.backward.describe()}"


@register("Bidirectional", var_groups=bidirectional_var_groups)
def bidirectional(cfg, weights, ctx):
    merge_mode = cfg.get("merge_mode", "concat")
    if merge_mode not in MERGE_MODES:
        raise RefgruError(f"{where(cfg, 'Bidirectional')} merge_mode: expected concat, sum, mul, ave or None, "
                          f"got {describe(merge_mode)}")
    layer = cfg["layer"]
    backward = cfg.get("backward_layer")
    if backward is None:  # tf-keras saves only the wrapped layer; the backward copy flips go_backwards
        inner = layer.get("config", {})
        flipped = {"name": f"backward_{inner.get('name')}", "go_backwards": not inner.get("go_backwards", False)}
        backward = {**layer, "config": {**inner, **flipped}}
    n = weight_count(layer, cfg)
    if len(weights) != n + weight_count(backward, cfg):
        raise RefgruError(f"{where(cfg, 'Bidirectional')} weights: expected {n} forward and "
                          f"{weight_count(backward, cfg)} backward arrays, got {len(weights)} arrays")
    built = []
    for spec, arrays in ((layer, weights[:n]), (backward, weights[n:])):
        inner = spec.get("config", {})
        forced = {**inner, "zero_output_for_mask": bool(inner.get("return_sequences", False))}
        built.append(ctx.build({**spec, "config": forced}, arrays))
    return Bidirectional(cfg, built[0], built[1], merge_mode)


