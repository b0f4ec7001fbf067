"""Exact weight converters between Keras GRU weights and PyTorch ``nn.GRU`` / the ONNX ``GRU`` operator.

One table, :data:`LAYOUTS`, says in which order each framework stacks the three gate blocks, and one
function, :func:`reorder`, moves blocks by that table. Every converter is that function plus a
transpose: Keras keeps the gate blocks on the last axis (``kernel (input_dim, 3u)``), PyTorch and ONNX
on the first (``weight_ih (3u, input_dim)``, ``W[d] (3u, input_dim)``). Nothing is computed, only
copied, so every round trip is bit-identical and keeps the dtype.

    framework  input weights                  recurrent weights                  biases
    Keras      kernel (F, 3u)       [z|r|h]   recurrent_kernel (u, 3u) [z|r|h]   bias (2, 3u) = [b; rb], or (3u,) = b
    PyTorch    weight_ih_l0 (3u, F) [r;z;n]   weight_hh_l0 (3u, u)     [r;z;n]   bias_ih_l0 = b, bias_hh_l0 = rb, (3u,)
    ONNX       W (1, 3u, F)         [z;r;h]   R (1, 3u, u)             [z;r;h]   B (1, 6u) = [b | rb]

PyTorch's ``n`` is Keras's candidate ``hh``. PyTorch computes only the ``reset_after=True`` form; ONNX
computes both (``linear_before_reset=1`` is ``reset_after=True``).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .errors import RefgruError, describe
from .weights import GRUWeights, as_numeric, as_weights

#: The order of the three gate blocks in each framework. Keras's ``h`` is PyTorch's ``n``.
LAYOUTS: dict[str, tuple[str, str, str]] = {
    "keras": ("z", "r", "h"),
    "torch": ("r", "z", "h"),
    "onnx": ("z", "r", "h"),
}

#: PyTorch parameter name (without ``_l{k}`` suffix) -> the GRUWeights array it holds.
TORCH_PARAMETERS = {"weight_ih": "kernel", "weight_hh": "recurrent_kernel",
                    "bias_ih": "input_bias", "bias_hh": "recurrent_bias"}

#: Directions by name: PyTorch calls the backward direction ``reverse``, Keras ``backward``.
DIRECTIONS = {"forward": "", "reverse": "_reverse", "backward": "_reverse"}

#: The activations ``torch.nn.GRU`` hard-codes: ``activation`` (for ``n``) and ``recurrent_activation`` (``r``, ``z``).
TORCH_ACTIVATIONS = {"activation": "tanh", "recurrent_activation": "sigmoid"}


def _fail(argument: str, expected: str, got: str) -> RefgruError:
    return RefgruError(f"{argument}: expected {expected}, got {got}")


def reorder(array: np.ndarray, source: str, target: str, axis: int = -1) -> np.ndarray:
    """Reorder the three gate blocks of ``array`` along ``axis`` from ``LAYOUTS[source]`` to ``LAYOUTS[target]``.

    Arguments:
        array: any array whose ``axis`` has length ``3u``: three blocks of ``u``.
        source, target: keys of :data:`LAYOUTS`.

    Returns:
        A new array of the same shape and dtype with the blocks permuted (a copy, never a view).
    """
    for name, value in (("source", source), ("target", target)):
        if value not in LAYOUTS:
            raise _fail(name, f"one of {sorted(LAYOUTS)}", describe(value))
    n = array.shape[axis]
    if n % 3:
        raise _fail("array", f"3u entries (three gate blocks) on axis {axis}", describe(array))
    u = n // 3
    index = np.concatenate([np.arange(u) + LAYOUTS[source].index(gate) * u for gate in LAYOUTS[target]])
    return np.take(array, index, axis=axis)


def export_array(array: np.ndarray | None, target: str) -> np.ndarray | None:
    """Keras ``(..., 3u)`` (gates on the last axis, ``[z|r|h]``) -> ``target`` ``(3u, ...)`` (gates first)."""
    if array is None:
        return None
    return np.ascontiguousarray(reorder(np.moveaxis(array, -1, 0), "keras", target, axis=0))


def import_array(array: np.ndarray, source: str) -> np.ndarray:
    """``source`` ``(3u, ...)`` (gates on the first axis) -> Keras ``(..., 3u)``; inverse of :func:`export_array`."""
    return np.ascontiguousarray(np.moveaxis(reorder(array, source, "keras", axis=0), 0, -1))


# ----------------------------------------------------------------------------------------- PyTorch

def _suffix(layer: object, direction: object) -> str:
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or layer < 0:
        raise _fail("layer", "a layer index >= 0", describe(layer))
    if direction not in DIRECTIONS:
        raise _fail("direction", "'forward' or 'reverse' (also called 'backward')", describe(direction))
    return f"_l{int(layer)}{DIRECTIONS[direction]}"


def check_torch_activations(activation: object = "tanh", recurrent_activation: object = "sigmoid") -> None:
    """Raise :class:`RefgruError` unless the activations are the ones ``torch.nn.GRU`` hard-codes."""
    given = {"activation": activation, "recurrent_activation": recurrent_activation}
    for name, fixed in TORCH_ACTIVATIONS.items():
        value = given[name]
        if value != fixed:
            raise _fail(name, f"{fixed!r}: torch.nn.GRU hard-codes tanh for the candidate n and sigmoid for the "
                        "gates r and z, and has no option for other activations", describe(value))


def to_torch(weights: Sequence[np.ndarray] | GRUWeights, *, activation: object = "tanh",
             recurrent_activation: object = "sigmoid", layer: int = 0,
             direction: str = "forward") -> dict[str, np.ndarray]:
    """The ``torch.nn.GRU`` parameters of one Keras GRU layer, as NumPy arrays of the weights' dtype.

    Arguments:
        weights: ``GRU.get_weights()`` or a :class:`GRUWeights`; must be ``reset_after=True``.
        activation, recurrent_activation: the Keras layer's; must be ``"tanh"`` and ``"sigmoid"``.
        layer, direction: name the keys for layer ``layer`` of a stacked GRU, and ``"reverse"`` for the
            backward half of a bidirectional one (``weight_ih_l1_reverse``).

    Returns:
        ``{"weight_ih_l0": (3u, input_dim), "weight_hh_l0": (3u, u), "bias_ih_l0": (3u,), "bias_hh_l0": (3u,)}``
        with row blocks ``[r; z; n]``: ``bias_ih = [b_r, b_z, b_h]``, ``bias_hh = [rb_r, rb_z, rb_h]``.
        Without a bias (``use_bias=False``) the bias keys are absent: load it into ``nn.GRU(bias=False)``.
    """
    w = as_weights(weights)
    suffix = _suffix(layer, direction)
    check_torch_activations(activation, recurrent_activation)
    if not w.reset_after:
        raise _fail("weights", "reset_after=True weights: torch.nn.GRU computes only n = tanh(W_in x + b_in + "
                    "r * (W_hn h + b_hn)), resetting after the recurrent matmul, while reset_after=False computes "
                    "hh = tanh(x @ W_h + b_h + (r * h_tm1) @ U_h); no nn.GRU weights reproduce that",
                    f"reset_after=False weights {w!r}")
    arrays = {f"{key}{suffix}": export_array(getattr(w, attr), "torch") for key, attr in TORCH_PARAMETERS.items()}
    return {key: value for key, value in arrays.items() if value is not None}


def to_torch_state_dict(weights: Sequence[GRUWeights | Sequence[np.ndarray]], *, bidirectional: bool = False,
                        activation: object = "tanh", recurrent_activation: object = "sigmoid") -> dict[str, np.ndarray]:
    """The state dict of a stacked and/or bidirectional ``nn.GRU`` from a flat list of layers.

    Arguments:
        weights: ``[l0, l1, ...]``, or with ``bidirectional=True`` ``[l0, l0_reverse, l1, l1_reverse, ...]``
            (PyTorch's order; a Keras ``Bidirectional(GRU)`` is ``[forward_layer, backward_layer]``). Layer
            ``k > 0`` has ``input_dim = u`` (``2u`` when bidirectional).

    Returns:
        ``{"weight_ih_l0": ..., "weight_ih_l0_reverse": ..., "weight_ih_l1": ...}`` for
        ``nn.GRU(input_dim, u, num_layers=len(weights) // (2 if bidirectional else 1), bidirectional=...)``.
    """
    layers = _check_stack("weights", weights, bidirectional)
    per = 2 if bidirectional else 1
    state: dict[str, np.ndarray] = {}
    for i, w in enumerate(layers):
        state.update(to_torch(w, activation=activation, recurrent_activation=recurrent_activation,
                              layer=i // per, direction="reverse" if i % per else "forward"))
    return state


def _check_stack(argument: str, weights: object, bidirectional: bool) -> list[GRUWeights]:
    if not isinstance(bidirectional, (bool, np.bool_)):
        raise _fail("bidirectional", "True or False", describe(bidirectional))
    per = 2 if bidirectional else 1
    if isinstance(weights, GRUWeights) or not isinstance(weights, (list, tuple)) or not weights or len(weights) % per:
        even = " of even length (forward, reverse per layer)" if bidirectional else ""
        raise _fail(argument, f"a non-empty list of GRUWeights{even}", describe(weights))
    layers = [as_weights(w) for w in weights]
    first = layers[0]
    for i, w in enumerate(layers):
        need = first.input_dim if i < per else first.units * per
        checks = [("units", w.units, first.units), ("input_dim", w.input_dim, need),
                  ("use_bias", w.use_bias, first.use_bias), ("reset_after", w.reset_after, first.reset_after),
                  ("dtype", w.dtype, first.dtype)]
        for name, value, expected in checks:
            if value != expected:
                raise _fail(f"{argument}[{i}]", f"{name}={expected} like the stack (layer {i // per} of a "
                            f"{'bidirectional ' if bidirectional else ''}stack)", f"{name}={value}")
    return layers


def _numpy(value: object, key: str) -> np.ndarray:
    """A torch tensor (any device; bfloat16 widened exactly to float32) or array-like as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy().copy()
    return as_numeric(key, value, "a floating-point tensor or array", kinds="f")


def _state_dict(module_or_state_dict: object, prefix: str | None) -> tuple[Mapping[str, object], str]:
    source = module_or_state_dict
    mode = getattr(source, "mode", None)
    if mode is not None and mode != "GRU":
        raise _fail("module_or_state_dict", "a torch.nn.GRU",
                    f"a torch {type(source).__name__} (mode {mode!r}); it is not a GRU")
    if callable(getattr(source, "state_dict", None)):
        source = source.state_dict()
    if not isinstance(source, Mapping):
        raise _fail("module_or_state_dict", "a torch.nn.GRU or its state_dict()", describe(module_or_state_dict))
    if prefix is None:
        end = "weight_ih_l0"
        prefixes = sorted({k[: -len(end)] for k in source if isinstance(k, str) and k.endswith(end)})
        if len(prefixes) != 1:
            got = "no key ending in 'weight_ih_l0'" if not prefixes else f"several GRUs, prefixes {prefixes}"
            raise _fail("module_or_state_dict", "the parameters of one nn.GRU (weight_ih_l0, ...); "
                        "pass prefix= to pick one", got)
        prefix = prefixes[0]
    return source, prefix


def from_torch(module_or_state_dict: object, layer: int = 0, direction: str = "forward", *,
               prefix: str | None = None) -> GRUWeights:
    """One layer (and direction) of a ``torch.nn.GRU`` as Keras :class:`GRUWeights` (``reset_after=True``).

    Arguments:
        module_or_state_dict: a ``torch.nn.GRU``, or a state dict of torch tensors or NumPy arrays with
            ``weight_ih_l{layer}`` ``(3u, input_dim)``, ``weight_hh_l{layer}`` ``(3u, u)`` and, unless the GRU
            has ``bias=False``, ``bias_ih_l{layer}`` and ``bias_hh_l{layer}`` ``(3u,)``.
        layer: which layer of a stacked GRU. direction: ``"forward"`` or ``"reverse"`` (``"backward"``).
        prefix: the part of every key before ``weight_ih_l0``, e.g. ``"encoder.gru."`` in a larger
            model's state dict; by default found, when only one GRU is in it.

    Returns:
        :class:`GRUWeights` with ``kernel (input_dim, 3u)``, ``recurrent_kernel (u, 3u)`` and bias
        ``(2, 3u)`` ``[bias_ih; bias_hh]`` in Keras order (or no bias), in the parameters' float dtype.
    """
    state, prefix = _state_dict(module_or_state_dict, prefix)
    suffix = _suffix(layer, direction)
    keys = {key: f"{prefix}{key}{suffix}" for key in TORCH_PARAMETERS}
    for key in ("weight_ih", "weight_hh"):
        if keys[key] not in state:
            raise _fail("module_or_state_dict", f"a parameter {keys[key]!r} (layer={layer}, direction={direction!r})",
                        f"keys {sorted(k for k in state if isinstance(k, str) and k.startswith(prefix))}")
    arrays = {key: _numpy(state[name], name) if name in state else None for key, name in keys.items()}
    if (arrays["bias_ih"] is None) != (arrays["bias_hh"] is None):
        raise _fail("module_or_state_dict", f"both {keys['bias_ih']!r} and {keys['bias_hh']!r} or neither",
                    "only one of them")
    w_hh, w_ih = arrays["weight_hh"], arrays["weight_ih"]
    if w_hh.ndim != 2 or w_hh.shape[0] != 3 * w_hh.shape[1]:
        raise _fail(keys["weight_hh"], "shape (3u, u) of a GRU (an LSTM has 4u rows)", describe(w_hh))
    u = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != 3 * u:
        raise _fail(keys["weight_ih"], f"shape ({3 * u}, input_dim) for hidden_size={u}", describe(w_ih))
    bias = None
    if arrays["bias_ih"] is not None:
        for key in ("bias_ih", "bias_hh"):
            if arrays[key].shape != (3 * u,):
                raise _fail(keys[key], f"shape ({3 * u},) for hidden_size={u}", describe(arrays[key]))
        bias = np.stack([import_array(arrays["bias_ih"], "torch"), import_array(arrays["bias_hh"], "torch")])
    return GRUWeights(import_array(w_ih, "torch"), import_array(w_hh, "torch"), bias, reset_after=True)


def from_torch_all(module_or_state_dict: object, *, prefix: str | None = None) -> list[GRUWeights]:
    """Every layer of a stacked and/or bidirectional ``nn.GRU``: ``[l0, (l0_reverse,) l1, (l1_reverse,) ...]``.

    The list is in the order :func:`to_torch_state_dict` takes. For a bidirectional GRU,
    ``[l0, l0_reverse]`` are the forward and backward layers of a Keras ``Bidirectional(GRU)``.
    """
    state, prefix = _state_dict(module_or_state_dict, prefix)
    layers = 0
    while f"{prefix}weight_ih_l{layers}" in state:
        layers += 1
    directions = ["forward", "reverse"] if f"{prefix}weight_ih_l0_reverse" in state else ["forward"]
    return [from_torch(state, k, d, prefix=prefix) for k in range(layers) for d in directions]


def torch_module(weights: Sequence[GRUWeights | Sequence[np.ndarray]] | GRUWeights, *, bidirectional: bool = False,
                 batch_first: bool = True):
    """A ``torch.nn.GRU`` (torch imported lazily) holding ``weights``: one layer, or a list as
    :func:`to_torch_state_dict` takes. The module has the weights' dtype, ``bias=use_bias``, and
    ``batch_first`` so that it takes ``(B, T, input_dim)`` like Keras.
    """
    import torch

    layers = _check_stack("weights", [weights] if isinstance(weights, GRUWeights) else list(weights), bidirectional)
    first = layers[0]
    module = torch.nn.GRU(first.input_dim, first.units, num_layers=len(layers) // (2 if bidirectional else 1),
                          bias=first.use_bias, batch_first=batch_first, bidirectional=bool(bidirectional))
    module = module.to(getattr(torch, first.dtype.name))
    state = to_torch_state_dict(layers, bidirectional=bidirectional)
    module.load_state_dict({key: torch.from_numpy(value) for key, value in state.items()}, strict=True)
    return module


# --------------------------------------------------------------------------------------------- ONNX

def to_onnx(weights: Sequence[GRUWeights | Sequence[np.ndarray]] | GRUWeights) -> dict[str, object]:
    """The inputs and the variant attribute of an ONNX ``GRU`` node for one layer, or ``[forward, reverse]``.

    Returns:
        ``{"W": (D, 3u, input_dim), "R": (D, 3u, u), "B": (D, 6u) or None, "linear_before_reset": 1 | 0}``
        with ``D = 1`` (or 2 for ``[forward, reverse]``, ``direction="bidirectional"``) and row blocks
        ``[z; r; h]``. ``B[d] = [b_z, b_r, b_h, rb_z, rb_r, rb_h]``; for ``reset_after=False`` the
        recurrent half is zeros and ``linear_before_reset=0``. ``B`` is ``None`` without a bias
        (ONNX then uses zeros), so the node has no ``B`` input.
    """
    layers = [as_weights(weights)] if isinstance(weights, GRUWeights) or _is_keras_list(weights) else weights
    if not isinstance(layers, (list, tuple)) or len(layers) not in (1, 2):
        raise _fail("weights", "one GRUWeights or [forward, reverse]", describe(layers))
    layers = _check_stack("weights", list(layers), bidirectional=len(layers) == 2)
    first = layers[0]
    W = np.stack([export_array(w.kernel, "onnx") for w in layers])
    R = np.stack([export_array(w.recurrent_kernel, "onnx") for w in layers])
    B = None
    if first.use_bias:
        halves = [(w.input_bias, w.recurrent_bias if w.reset_after else np.zeros_like(w.input_bias)) for w in layers]
        B = np.stack([np.concatenate([export_array(b, "onnx"), export_array(rb, "onnx")]) for b, rb in halves])
    return {"W": W, "R": R, "B": B, "linear_before_reset": int(first.reset_after)}


def _is_keras_list(weights: object) -> bool:
    arrays = isinstance(weights, (list, tuple)) and all(isinstance(a, np.ndarray) for a in weights)
    return arrays and len(weights) in (2, 3)


def _onnx_array(name: str, value: object) -> np.ndarray:
    if type(value).__name__ == "TensorProto":
        from onnx import numpy_helper

        value = numpy_helper.to_array(value)
    return as_numeric(name, value, "a floating-point array", kinds="f")


def from_onnx(W: object, R: object, B: object = None, linear_before_reset: int = 1,
              direction: str | None = None) -> GRUWeights | list[GRUWeights]:
    """Keras :class:`GRUWeights` from the inputs of an ONNX ``GRU`` node (arrays or ``TensorProto``).

    Arguments:
        W: ``(D, 3u, input_dim)`` (``D`` = num_directions, 1 or 2) or ``(3u, input_dim)``, blocks ``[z; r; h]``.
        R: ``(D, 3u, u)`` or ``(3u, u)``. B: ``(D, 6u)`` or ``(6u,)`` = ``[Wb_z..Wb_h, Rb_z..Rb_h]``, or
            ``None`` (no bias: ``use_bias=False``).
        linear_before_reset: the node's attribute: 1 gives ``reset_after=True`` (bias ``(2, 3u)`` =
            ``[Wb; Rb]``), 0 gives ``reset_after=False``. With 0, ONNX adds ``Rb`` next to ``Wb`` in every
            gate (``z``, ``r`` and the candidate), so the Keras bias ``(3u,)`` is ``Wb + Rb``: exact when
            ``Rb`` is zero (as :func:`to_onnx` writes it), one rounding per element otherwise.
        direction: ``None`` returns one GRUWeights for ``D = 1`` and ``[forward, reverse]`` for ``D = 2``;
            ``"forward"`` or ``"reverse"`` returns that direction alone.
    """
    W, R = _onnx_array("W", W), _onnx_array("R", R)
    B = None if B is None else _onnx_array("B", B)
    if W.ndim == 2:  # one direction without the num_directions axis
        W, R, B = W[None], R[None] if R.ndim == 2 else R, None if B is None else B.reshape(1, -1) if B.ndim == 1 else B
    if W.ndim != 3 or W.shape[0] not in (1, 2) or W.shape[1] % 3 or W.shape[1] == 0:
        raise _fail("W", "shape (num_directions, 3 * hidden_size, input_size) with num_directions 1 or 2", describe(W))
    d, u = W.shape[0], W.shape[1] // 3
    if R.shape != (d, 3 * u, u):
        raise _fail("R", f"shape ({d}, {3 * u}, {u}) to match W {W.shape}", describe(R))
    if B is not None and B.shape != (d, 6 * u):
        raise _fail("B", f"shape ({d}, {6 * u}) to match W {W.shape}", describe(B))
    if isinstance(linear_before_reset, (bool, np.bool_)) or linear_before_reset not in (0, 1):
        raise _fail("linear_before_reset", "0 or 1 (the GRU node's attribute)", describe(linear_before_reset))
    layers = []
    for i in range(d):
        bias = None
        if B is not None:
            b, rb = import_array(B[i, : 3 * u], "onnx"), import_array(B[i, 3 * u :], "onnx")
            bias = np.stack([b, rb]) if linear_before_reset else (b if not rb.any() else b + rb)
        kernel, recurrent = import_array(W[i], "onnx"), import_array(R[i], "onnx")
        layers.append(GRUWeights(kernel, recurrent, bias, reset_after=bool(linear_before_reset)))
    if direction is None:
        return layers[0] if d == 1 else layers
    names = {"forward": 0, "reverse": 1, "backward": 1}
    if direction not in names or names[direction] >= d:
        raise _fail("direction", f"None or one of {['forward', 'reverse'][:d]} for num_directions={d}",
                    describe(direction))
    return layers[names[direction]]


__all__ = ["LAYOUTS", "TORCH_PARAMETERS", "check_torch_activations", "export_array", "from_onnx", "from_torch",
           "from_torch_all", "import_array", "reorder", "to_onnx", "to_torch", "to_torch_state_dict", "torch_module"]
