"""Keras GRU arrays <-> ``torch.nn.GRU`` parameters, exactly (a transpose and a gate reordering).

Works on arrays (:class:`~refgru.convert.layouts.KerasArrays`, a ``GRUWeights`` or a ``get_weights()``
list); ``torch`` is imported only by :func:`torch_module` and for reading tensors. PyTorch computes only
the ``reset_after=True`` form.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..core.checks import as_numeric, check_choice, check_index
from ..errors import error, quote
from .layouts import (
    DIRECTIONS,
    TORCH_PARAMETERS,
    KerasArrays,
    as_layers,
    check_stack,
    export_parameters,
    import_parameters,
)

#: The activations ``torch.nn.GRU`` hard-codes: ``activation`` (for ``n``) and ``recurrent_activation`` (``r``, ``z``).
TORCH_ACTIVATIONS = {"activation": "tanh", "recurrent_activation": "sigmoid"}


def param_suffix(layer: object, direction: object) -> str:
    layer = check_index("layer", layer, "a layer index >= 0")
    check_choice("direction", direction, DIRECTIONS, "'forward' or 'reverse' (also called 'backward')")
    return f"_l{layer}{DIRECTIONS[direction]}"


def check_torch_activations(activation: object = "tanh", recurrent_activation: object = "sigmoid") -> None:
    """Raise :class:`RefgruError` unless the activations are the ones ``torch.nn.GRU`` hard-codes."""
    given = {"activation": activation, "recurrent_activation": recurrent_activation}
    for name, fixed in TORCH_ACTIVATIONS.items():
        if given[name] != fixed:
            raise error(name, f"{fixed!r}: torch.nn.GRU hard-codes tanh for the candidate n and sigmoid for the "
                        "gates r and z, and has no option for other activations", given[name])


def to_torch(weights, *, activation: object = "tanh", recurrent_activation: object = "sigmoid", layer: int = 0,
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
    w = KerasArrays.of(weights)
    suffix = param_suffix(layer, direction)
    check_torch_activations(activation, recurrent_activation)
    if not w.reset_after:
        raise error("weights", "reset_after=True weights: torch.nn.GRU computes only n = tanh(W_in x + b_in + "
                    "r * (W_hn h + b_hn)), resetting after the recurrent matmul, while reset_after=False computes "
                    "hh = tanh(x @ W_h + b_h + (r * h_tm1) @ U_h); no nn.GRU weights reproduce that",
                    got=f"reset_after=False weights {w!r}")
    return {f"{key}{suffix}": value for key, value in export_parameters(w, "torch").items()}


def to_torch_state_dict(weights: Sequence, *, bidirectional: bool = False, activation: object = "tanh",
                        recurrent_activation: object = "sigmoid") -> dict[str, np.ndarray]:
    """The state dict of a stacked and/or bidirectional ``nn.GRU`` from a flat list of layers.

    Arguments:
        weights: ``[l0, l1, ...]``, or with ``bidirectional=True`` ``[l0, l0_reverse, l1, l1_reverse, ...]``
            (PyTorch's order; a Keras ``Bidirectional(GRU)`` is ``[forward_layer, backward_layer]``). Layer
            ``k > 0`` has ``input_dim = u`` (``2u`` when bidirectional).

    Returns:
        ``{"weight_ih_l0": ..., "weight_ih_l0_reverse": ..., "weight_ih_l1": ...}`` for
        ``nn.GRU(input_dim, u, num_layers=len(weights) // (2 if bidirectional else 1), bidirectional=...)``.
    """
    layers = check_stack("weights", weights, bidirectional)
    per = 2 if bidirectional else 1
    state: dict[str, np.ndarray] = {}
    for i, w in enumerate(layers):
        state.update(to_torch(w, activation=activation, recurrent_activation=recurrent_activation,
                              layer=i // per, direction="reverse" if i % per else "forward"))
    return state


def param_array(value: object, key: str) -> np.ndarray:
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
        raise error("module_or_state_dict", "a torch.nn.GRU",
                    got=f"a torch {type(source).__name__} (mode {quote(mode)}); it is not a GRU")
    if callable(getattr(source, "state_dict", None)):
        source = source.state_dict()
    if not isinstance(source, Mapping):
        raise error("module_or_state_dict", "a torch.nn.GRU or its state_dict()", module_or_state_dict)
    if prefix is None:
        end = "weight_ih_l0"
        prefixes = sorted({k[: -len(end)] for k in source if isinstance(k, str) and k.endswith(end)})
        if len(prefixes) != 1:
            got = "no key ending in 'weight_ih_l0'" if not prefixes else f"several GRUs, prefixes {quote(prefixes)}"
            raise error("module_or_state_dict", "the parameters of one nn.GRU (weight_ih_l0, ...); "
                        "pass prefix= to pick one", got=got)
        prefix = prefixes[0]
    return source, prefix


def from_torch(module_or_state_dict: object, layer: int = 0, direction: str = "forward", *,
               prefix: str | None = None) -> KerasArrays:
    """One layer (and direction) of a ``torch.nn.GRU`` as Keras arrays (``reset_after=True``).

    Arguments:
        module_or_state_dict: a ``torch.nn.GRU``, or a state dict of torch tensors or NumPy arrays with
            ``weight_ih_l{layer}`` ``(3u, input_dim)``, ``weight_hh_l{layer}`` ``(3u, u)`` and, unless the GRU
            has ``bias=False``, ``bias_ih_l{layer}`` and ``bias_hh_l{layer}`` ``(3u,)``.
        layer: which layer of a stacked GRU. direction: ``"forward"`` or ``"reverse"`` (``"backward"``).
        prefix: the part of every key before ``weight_ih_l0``, e.g. ``"encoder.gru."`` in a larger
            model's state dict; by default found, when only one GRU is in it.

    Returns:
        :class:`KerasArrays` with ``kernel (input_dim, 3u)``, ``recurrent_kernel (u, 3u)`` and bias
        ``(2, 3u)`` ``[bias_ih; bias_hh]`` in Keras order (or no bias), in the parameters' float dtype;
        ``GRUWeights.from_torch`` returns the same as a ``GRUWeights``.
    """
    state, prefix = _state_dict(module_or_state_dict, prefix)
    suffix = param_suffix(layer, direction)
    keys = {key: f"{prefix}{key}{suffix}" for key in TORCH_PARAMETERS}
    for key in ("weight_ih", "weight_hh"):
        if keys[key] not in state:
            found = sorted(k for k in state if isinstance(k, str) and k.startswith(prefix))
            raise error("module_or_state_dict", f"a parameter {quote(keys[key])} (layer={layer}, "
                        f"direction={direction!r})", got=f"keys {quote(found, 300)}")
    arrays = {key: param_array(state[name], name) if name in state else None for key, name in keys.items()}
    if (arrays["bias_ih"] is None) != (arrays["bias_hh"] is None):
        raise error("module_or_state_dict", f"both {quote(keys['bias_ih'])} and {quote(keys['bias_hh'])} or neither",
                    got="only one of them")
    w_hh, w_ih = arrays["weight_hh"], arrays["weight_ih"]
    if w_hh.ndim != 2 or w_hh.shape[0] != 3 * w_hh.shape[1]:
        raise error(keys["weight_hh"], "shape (3u, u) of a GRU (an LSTM has 4u rows)", w_hh)
    u = w_hh.shape[1]
    if w_ih.ndim != 2 or w_ih.shape[0] != 3 * u:
        raise error(keys["weight_ih"], f"shape ({3 * u}, input_dim) for hidden_size={u}", w_ih)
    for key in ("bias_ih", "bias_hh"):
        if arrays[key] is not None and arrays[key].shape != (3 * u,):
            raise error(keys[key], f"shape ({3 * u},) for hidden_size={u}", arrays[key])
    keras = import_parameters(arrays, "torch")
    bias = None if keras["input_bias"] is None else np.stack([keras["input_bias"], keras["recurrent_bias"]])
    return KerasArrays(keras["kernel"], keras["recurrent_kernel"], bias, reset_after=True)


def from_torch_all(module_or_state_dict: object, *, prefix: str | None = None) -> list[KerasArrays]:
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


def torch_module(weights, *, bidirectional: bool = False, batch_first: bool = True):
    """A ``torch.nn.GRU`` (torch imported lazily) holding ``weights``: one layer, or a list as
    :func:`to_torch_state_dict` takes. The module has the weights' dtype, ``bias=use_bias``, and
    ``batch_first`` so that it takes ``(B, T, input_dim)`` like Keras.
    """
    import torch

    layers = check_stack("weights", as_layers(weights), bidirectional)
    first = layers[0]
    module = torch.nn.GRU(first.kernel.shape[0], first.units, num_layers=len(layers) // (2 if bidirectional else 1),
                          bias=first.bias is not None, batch_first=batch_first, bidirectional=bool(bidirectional))
    module = module.to(getattr(torch, first.dtype.name))
    state = to_torch_state_dict(layers, bidirectional=bidirectional)
    module.load_state_dict({key: torch.from_numpy(value) for key, value in state.items()}, strict=True)
    return module


__all__ = ["TORCH_ACTIVATIONS", "check_torch_activations", "from_torch", "from_torch_all", "to_torch",
           "to_torch_state_dict", "torch_module"]
