"""How Keras, PyTorch and ONNX store one GRU layer: ONE table, :data:`FRAMEWORKS`, and the moves it drives.

Every converter is a transpose plus a reordering of the three gate blocks; nothing is computed, only
copied, so every round trip is bit-identical and keeps the dtype::

    framework  input weights                  recurrent weights                  biases
    Keras      kernel (F, 3u)       [z|r|h]   recurrent_kernel (u, 3u) [z|r|h]   bias (2, 3u) = [b; rb], or (3u,) = b
    PyTorch    weight_ih_l0 (3u, F) [r;z;n]   weight_hh_l0 (3u, u)     [r;z;n]   bias_ih_l0 = b, bias_hh_l0 = rb, (3u,)
    ONNX       W (1, 3u, F)         [z;r;h]   R (1, 3u, u)             [z;r;h]   B (1, 6u) = [b | rb]

PyTorch's ``n`` is Keras's candidate ``hh``. This module works on arrays only (NumPy, no weights class):
:class:`KerasArrays` is the checked record of ``kernel``, ``recurrent_kernel``, ``bias`` and
``reset_after`` that every converter takes and returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..core.arrays import KerasArrays, is_keras_list
from ..core.checks import check_choice
from ..errors import error


@dataclass(frozen=True)
class Layout:
    """How one framework stores a GRU layer.

    Attributes:
        gates: the order of the three gate blocks (Keras's ``h`` is PyTorch's ``n``).
        parameters: each stored array -> the Keras arrays it holds, concatenated on the gate axis in
            that order (``kernel``, ``recurrent_kernel``, ``input_bias`` = ``b``, ``recurrent_bias`` = ``rb``).
        directions: direction name -> how the framework addresses it (a key suffix, or an index).
    """

    gates: tuple[str, str, str]
    parameters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    directions: Mapping[str, object] = field(default_factory=dict)


#: The one table. Keras keeps the gate blocks on the LAST axis (``kernel (F, 3u)``); PyTorch and ONNX on
#: the FIRST (``weight_ih (3u, F)``, ``W[d] (3u, F)``). ONNX's ``B`` is ``[b | rb]`` in one array; a
#: ``reset_after=False`` layer has no ``rb``, written as zeros. PyTorch calls the backward direction
#: ``reverse`` and suffixes its keys (``weight_ih_l0_reverse``); ONNX stacks it as ``W[1]``.
FRAMEWORKS: dict[str, Layout] = {
    "keras": Layout(("z", "r", "h")),
    "torch": Layout(("r", "z", "h"),
                    {"weight_ih": ("kernel",), "weight_hh": ("recurrent_kernel",),
                     "bias_ih": ("input_bias",), "bias_hh": ("recurrent_bias",)},
                    {"forward": "", "reverse": "_reverse", "backward": "_reverse"}),
    "onnx": Layout(("z", "r", "h"),
                   {"W": ("kernel",), "R": ("recurrent_kernel",), "B": ("input_bias", "recurrent_bias")},
                   {"forward": 0, "reverse": 1, "backward": 1}),
}

#: Views of :data:`FRAMEWORKS`, by the names refgru has always offered.
LAYOUTS: dict[str, tuple[str, str, str]] = {name: layout.gates for name, layout in FRAMEWORKS.items()}
TORCH_PARAMETERS: dict[str, str] = {key: parts[0] for key, parts in FRAMEWORKS["torch"].parameters.items()}
DIRECTIONS: Mapping[str, object] = FRAMEWORKS["torch"].directions


def reorder(array: np.ndarray, source: str, target: str, axis: int = -1) -> np.ndarray:
    """Reorder the three gate blocks of ``array`` along ``axis`` from ``LAYOUTS[source]`` to ``LAYOUTS[target]``.

    Arguments:
        array: any array whose ``axis`` has length ``3u``: three blocks of ``u``.
        source, target: keys of :data:`LAYOUTS`.

    Returns:
        A new array of the same shape and dtype with the blocks permuted (a copy, never a view).
    """
    for name, value in (("source", source), ("target", target)):
        check_choice(name, value, LAYOUTS)
    n = array.shape[axis]
    if n % 3:
        raise error("array", f"3u entries (three gate blocks) on axis {axis}", array)
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




def as_layers(weights: object) -> list:
    """One layer (``GRUWeights``, :class:`KerasArrays` or a ``get_weights()`` list) as ``[it]``; a list as is."""
    if hasattr(weights, "kernel") or is_keras_list(weights):
        return [weights]
    if not isinstance(weights, (list, tuple)):
        raise error("weights", "a GRUWeights, a get_weights() list, or a list of them", weights)
    return list(weights)


def check_stack(argument: str, weights: object, bidirectional: bool) -> list[KerasArrays]:
    """The layers of a stacked (and bidirectional: ``[l0, l0_reverse, l1, ...]``) GRU, checked to fit together."""
    if not isinstance(bidirectional, (bool, np.bool_)):
        raise error("bidirectional", "True or False", bidirectional)
    per = 2 if bidirectional else 1
    if hasattr(weights, "kernel") or not isinstance(weights, (list, tuple)) or not weights or len(weights) % per:
        even = " of even length (forward, reverse per layer)" if bidirectional else ""
        raise error(argument, f"a non-empty list of GRUWeights{even}", weights)
    layers = [KerasArrays.of(w) for w in weights]
    first = layers[0]
    for i, w in enumerate(layers):
        need = first.kernel.shape[0] if i < per else first.units * per
        checks = [("units", w.units, first.units), ("input_dim", w.kernel.shape[0], need),
                  ("use_bias", w.bias is not None, first.bias is not None),
                  ("reset_after", w.reset_after, first.reset_after), ("dtype", w.dtype, first.dtype)]
        for name, value, expected in checks:
            if value != expected:
                raise error(f"{argument}[{i}]", f"{name}={expected} like the stack (layer {i // per} of a "
                            f"{'bidirectional ' if bidirectional else ''}stack)", got=f"{name}={value}")
    return layers


def export_parameters(w: KerasArrays, target: str) -> dict[str, np.ndarray]:
    """``w``'s arrays in ``target``'s layout, keyed by :data:`FRAMEWORKS` ``[target].parameters``.

    An array whose Keras parts are all absent (no bias) is left out; an absent part next to a present one
    (``rb`` of a ``reset_after=False`` layer in ONNX's ``B``) is written as zeros.
    """
    out = {}
    for name, parts in FRAMEWORKS[target].parameters.items():
        values = [getattr(w, part) for part in parts]
        present = [v for v in values if v is not None]
        if present:
            blocks = [export_array(np.zeros_like(present[0]) if v is None else v, target) for v in values]
            out[name] = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return out


def import_parameters(arrays: Mapping[str, np.ndarray | None], source: str) -> dict[str, np.ndarray | None]:
    """Inverse of :func:`export_parameters`: ``{"kernel": ..., "recurrent_kernel": ..., "input_bias": ...,
    "recurrent_bias": ...}`` in Keras layout (``None`` where ``arrays`` has no such array)."""
    out: dict[str, np.ndarray | None] = {}
    for name, parts in FRAMEWORKS[source].parameters.items():
        value = arrays.get(name)
        if value is not None and value.shape[0] % (3 * len(parts)):
            raise error(name, f"3u x {len(parts)} rows (gate blocks on the first axis)", value)
        chunks = [None] * len(parts) if value is None else np.split(value, len(parts))
        for part, chunk in zip(parts, chunks, strict=True):
            out[part] = None if chunk is None else import_array(chunk, source)
    return out


__all__ = ["DIRECTIONS", "FRAMEWORKS", "KerasArrays", "LAYOUTS", "Layout", "TORCH_PARAMETERS", "as_layers",
           "check_stack", "export_array", "export_parameters", "import_array", "import_parameters", "is_keras_list",
           "reorder"]
