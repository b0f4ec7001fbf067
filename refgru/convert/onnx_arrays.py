"""Keras GRU arrays <-> the ``W``, ``R``, ``B`` inputs of an ONNX ``GRU`` node, exactly.

ONNX computes both variants: ``linear_before_reset=1`` is ``reset_after=True``. The ``onnx`` package is
imported only to read a ``TensorProto``.
"""

from __future__ import annotations

import numpy as np

from ..core.checks import as_numeric, check_choice
from ..errors import error
from .layouts import FRAMEWORKS, KerasArrays, as_layers, check_stack, export_parameters, import_parameters


def to_onnx(weights) -> dict[str, object]:
    """The inputs and the variant attribute of an ONNX ``GRU`` node for one layer, or ``[forward, reverse]``.

    Returns:
        ``{"W": (D, 3u, input_dim), "R": (D, 3u, u), "B": (D, 6u) or None, "linear_before_reset": 1 | 0}``
        with ``D = 1`` (or 2 for ``[forward, reverse]``, ``direction="bidirectional"``) and row blocks
        ``[z; r; h]``. ``B[d] = [b_z, b_r, b_h, rb_z, rb_r, rb_h]``; for ``reset_after=False`` the
        recurrent half is zeros and ``linear_before_reset=0``. ``B`` is ``None`` without a bias
        (ONNX then uses zeros), so the node has no ``B`` input.
    """
    layers = as_layers(weights)
    if len(layers) not in (1, 2):
        raise error("weights", "one GRUWeights or [forward, reverse]", layers)
    layers = check_stack("weights", layers, bidirectional=len(layers) == 2)
    per_layer = [export_parameters(w, "onnx") for w in layers]
    stacked = {name: np.stack([p[name] for p in per_layer]) if name in per_layer[0] else None
               for name in FRAMEWORKS["onnx"].parameters}
    return {**stacked, "linear_before_reset": int(layers[0].reset_after)}


def _onnx_array(name: str, value: object) -> np.ndarray:
    if type(value).__name__ == "TensorProto":
        from onnx import numpy_helper

        value = numpy_helper.to_array(value)
    return as_numeric(name, value, "a floating-point array", kinds="f")


def from_onnx(W: object, R: object, B: object = None, linear_before_reset: int | None = None,
              direction: str | None = None) -> KerasArrays | list[KerasArrays]:
    """Keras arrays from the inputs of an ONNX ``GRU`` node (arrays or ``TensorProto``).

    Arguments:
        W: ``(D, 3u, input_dim)`` (``D`` = num_directions, 1 or 2) or ``(3u, input_dim)``, blocks ``[z; r; h]``.
        R: ``(D, 3u, u)`` or ``(3u, u)``. B: ``(D, 6u)`` or ``(6u,)`` = ``[Wb_z..Wb_h, Rb_z..Rb_h]``, or
            ``None`` (no bias: ``use_bias=False``).
        linear_before_reset: the node's attribute, required (ONNX's default is 0, so a node without it
            means 0; ``GRUWeights.from_onnx_node`` reads it from the node): 1 gives ``reset_after=True``
            (bias ``(2, 3u)`` = ``[Wb; Rb]``), 0 gives ``reset_after=False``. With 0, ONNX adds ``Rb`` next
            to ``Wb`` in every gate (``z``, ``r`` and the candidate), so the Keras bias ``(3u,)`` is
            ``Wb + Rb``: exact when ``Rb`` is zero (as :func:`to_onnx` writes it), one rounding per element
            otherwise.
        direction: ``None`` returns one layer for ``D = 1`` and ``[forward, reverse]`` for ``D = 2``;
            ``"forward"`` or ``"reverse"`` returns that direction alone.

    Returns:
        :class:`KerasArrays` (``GRUWeights.from_onnx`` returns the same as ``GRUWeights``).
    """
    if linear_before_reset is None:
        raise error("linear_before_reset", "0 or 1, the GRU node's attribute (ONNX's default, when the node "
                    "leaves it out, is 0); or read the node with GRUWeights.from_onnx_node", got="nothing")
    if isinstance(linear_before_reset, (bool, np.bool_)) or linear_before_reset not in (0, 1):
        raise error("linear_before_reset", "0 or 1 (the GRU node's attribute)", linear_before_reset)
    W, R = _onnx_array("W", W), _onnx_array("R", R)
    B = None if B is None else _onnx_array("B", B)
    if W.ndim == 2:  # one direction without the num_directions axis
        W, R, B = W[None], R[None] if R.ndim == 2 else R, None if B is None else B.reshape(1, -1) if B.ndim == 1 else B
    if W.ndim != 3 or W.shape[0] not in (1, 2) or W.shape[1] % 3 or W.shape[1] == 0:
        raise error("W", "shape (num_directions, 3 * hidden_size, input_size) with num_directions 1 or 2", W)
    d, u = W.shape[0], W.shape[1] // 3
    if R.shape != (d, 3 * u, u):
        raise error("R", f"shape ({d}, {3 * u}, {u}) to match W {W.shape}", R)
    if B is not None and B.shape != (d, 6 * u):
        raise error("B", f"shape ({d}, {6 * u}) to match W {W.shape}", B)
    layers = []
    for i in range(d):
        keras = import_parameters({"W": W[i], "R": R[i], "B": None if B is None else B[i]}, "onnx")
        b, rb = keras["input_bias"], keras["recurrent_bias"]
        bias = None if b is None else np.stack([b, rb]) if linear_before_reset else (b if not rb.any() else b + rb)
        layers.append(KerasArrays(keras["kernel"], keras["recurrent_kernel"], bias,
                                  reset_after=bool(linear_before_reset)))
    if direction is None:
        return layers[0] if d == 1 else layers
    directions = {name: i for name, i in FRAMEWORKS["onnx"].directions.items() if i < d}
    check_choice("direction", direction, directions, f"None or one of {['forward', 'reverse'][:d]} "
                 f"for num_directions={d}")
    return layers[directions[direction]]


__all__ = ["from_onnx", "to_onnx"]
