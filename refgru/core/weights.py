"""``GRUWeights``: the three arrays of ``GRU.get_weights()``, with every slice named.

Keras stores a GRU in three arrays whose column blocks are in the gate order ``[z, r, h]``::

    kernel            (input_dim, 3u) = [ W_z | W_r | W_h ]     input weights
    recurrent_kernel  (u, 3u)         = [ U_z | U_r | U_h ]     recurrent weights
    bias, reset_after=True:  (2, 3u)  row 0 = [ b_z | b_r | b_h ]      input bias
                                      row 1 = [ rb_z | rb_r | rb_h ]   recurrent bias
    bias, reset_after=False: (3u,)    = [ b_z | b_r | b_h ]
    no bias (use_bias=False): the list has two arrays

A ``(2, 3u)`` bias exists only with ``reset_after=True``, and then both rows are used in every step.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import error
from .arrays import KerasArrays

#: Keras gate order of the column blocks: update gate z, reset gate r, candidate h.
GATES = ("z", "r", "h")
#: The four arrays a GRU's named slices come from: kernel W, recurrent kernel U, input bias b, recurrent bias rb.
SLICE_PREFIXES = ("W", "U", "b", "rb")


def gate_block(array: np.ndarray | None, gate: str) -> np.ndarray | None:
    """The column block of ``gate`` in a ``(..., 3u)`` array, as a view (``None`` stays ``None``)."""
    if array is None:
        return None
    u = array.shape[-1] // 3
    i = GATES.index(gate)
    return array[..., i * u : (i + 1) * u]


class NamedSlices:
    """The twelve named slices ``W_z ... rb_h`` as properties, for any class that has the four ``(..., 3u)``
    arrays named in :attr:`SLICE_SOURCES`. A prefix (``"d"`` for gradients) goes in front of each name.

    Subclasses set ``SLICE_SOURCES = {"W": "kernel", "U": "recurrent_kernel", "b": "input_bias",
    "rb": "recurrent_bias"}`` (attribute names) and ``SLICE_PREFIX``.
    """

    __slots__ = ()
    SLICE_SOURCES: dict[str, str] = {}
    SLICE_PREFIX = ""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for part in SLICE_PREFIXES:
            for gate in GATES:
                setattr(cls, f"{cls.SLICE_PREFIX}{part}_{gate}", _slice_property(cls.SLICE_SOURCES[part], gate))

    def slices(self) -> dict[str, np.ndarray | None]:
        """All twelve named slices, in the order W, U, b, rb and z, r, h within each."""
        return {name: getattr(self, name) for name in slice_names(self.SLICE_PREFIX)}


def slice_names(prefix: str = "") -> list[str]:
    """``["W_z", "W_r", ..., "rb_h"]`` with ``prefix`` in front of each."""
    return [f"{prefix}{p}_{g}" for p in SLICE_PREFIXES for g in GATES]


_SHAPES = {"kernel": "(input_dim, u)", "recurrent_kernel": "(u, u)"}


def _slice_property(source: str, gate: str) -> property:
    shape = _SHAPES.get(source.removeprefix("d_"), "(u,), or None")
    return property(lambda self: gate_block(getattr(self, source), gate),
                    doc=f"``{shape}``: the {gate} block of ``{source}``.")



class GRUWeights(KerasArrays, NamedSlices):
    """The weights of one Keras GRU layer, with named slices.

    Arguments:
        kernel: ``(input_dim, 3u)``, the column blocks ``[W_z | W_r | W_h]``.
        recurrent_kernel: ``(u, 3u)``, the column blocks ``[U_z | U_r | U_h]``.
        bias: ``(2, 3u)`` (``reset_after=True``: input row, recurrent row), ``(3u,)``
            (``reset_after=False``), or ``None`` (``use_bias=False``).
        reset_after: ``None`` infers it from the bias: ``(2, 3u)`` means True, ``(3u,)`` means False,
            no bias means True (the Keras default). An explicit value must agree with the bias.

    Attributes (all views of the arrays above):
        W_z, W_r, W_h: ``(input_dim, u)`` input weights of the update gate, reset gate and candidate.
        U_z, U_r, U_h: ``(u, u)`` recurrent weights of the same.
        b_z, b_r, b_h: ``(u,)`` input bias, or ``None`` without a bias.
        rb_z, rb_r, rb_h: ``(u,)`` recurrent bias (row 1 of a ``(2, 3u)`` bias), or ``None``
            unless ``reset_after`` and ``use_bias``.
    """

    SLICE_SOURCES = {"W": "kernel", "U": "recurrent_kernel", "b": "input_bias", "rb": "recurrent_bias"}

    # The fields kernel, recurrent_kernel, bias, reset_after and their checks come from KerasArrays.

    @classmethod
    def from_keras(cls, weights: Sequence[np.ndarray] | "GRUWeights", reset_after: bool | None = None) -> "GRUWeights":
        """Build from the list ``GRU.get_weights()`` returns: ``[kernel, recurrent_kernel(, bias)]``."""
        if isinstance(weights, GRUWeights):
            if reset_after is not None and bool(reset_after) != weights.reset_after:
                raise error("reset_after", f"{weights.reset_after} to match the given GRUWeights", reset_after)
            return weights
        if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
            raise error("weights", "the list GRU.get_weights() returns ([kernel, recurrent_kernel, bias] or "
                        "[kernel, recurrent_kernel]) or a GRUWeights", weights)
        if len(weights) not in (2, 3):
            raise error("weights", "2 arrays (use_bias=False) or 3 arrays (kernel, recurrent_kernel, bias)",
                        got=f"{len(weights)} arrays")
        bias = weights[2] if len(weights) == 3 else None
        return cls(weights[0], weights[1], bias, reset_after)

    def __repr__(self) -> str:
        bias = "None" if self.bias is None else str(self.bias.shape)
        return (f"GRUWeights(units={self.units}, input_dim={self.input_dim}, reset_after={self.reset_after}, "
                f"use_bias={self.use_bias}, bias={bias}, dtype={self.dtype})")

    def to_torch(self, **options) -> dict[str, np.ndarray]:
        """``torch.nn.GRU`` parameters ``weight_ih_l0 (3u, input_dim)``, ...; see :func:`refgru.convert.to_torch`."""
        from ..convert import torch as torch_arrays

        return torch_arrays.to_torch(self, **options)

    @classmethod
    def from_torch(cls, module_or_state_dict, layer: int = 0, direction: str = "forward", **options) -> "GRUWeights":
        """One layer of a ``torch.nn.GRU`` or its state dict; see :func:`refgru.convert.from_torch`."""
        from ..convert import torch as torch_arrays

        return cls._from_arrays(torch_arrays.from_torch(module_or_state_dict, layer, direction, **options))

    def to_onnx(self) -> dict[str, object]:
        """ONNX ``GRU`` inputs ``W (1, 3u, input_dim)``, ``R``, ``B``, ``linear_before_reset``; see
        :func:`refgru.convert.to_onnx`."""
        from ..convert import onnx_arrays

        return onnx_arrays.to_onnx(self)

    @classmethod
    def from_onnx(cls, W, R, B=None, linear_before_reset: int | None = None, direction: str | None = None):
        """From ONNX ``GRU`` inputs and the node's ``linear_before_reset`` (required; a list of two for a
        bidirectional node); see :func:`refgru.convert.from_onnx`."""
        from ..convert import onnx_arrays

        return cls._from_layers(onnx_arrays.from_onnx(W, R, B, linear_before_reset, direction))

    @classmethod
    def from_onnx_node(cls, node_or_model, inputs=None, direction: str | None = None):
        """From an ONNX GRU ``NodeProto`` or one-GRU ``ModelProto``, every attribute read from the node; see
        :func:`refgru.onnx.node.weights_from_node`."""
        from ..onnx import node

        return cls._from_layers(node.weights_from_node(node_or_model, inputs, direction))

    @classmethod
    def _from_layers(cls, layers):
        return [cls._from_arrays(a) for a in layers] if isinstance(layers, list) else cls._from_arrays(layers)

    @classmethod
    def _from_arrays(cls, arrays) -> "GRUWeights":
        """From the checked arrays a converter returns (``refgru.convert.KerasArrays``)."""
        return cls(arrays.kernel, arrays.recurrent_kernel, arrays.bias, arrays.reset_after)


def as_weights(weights: Sequence[np.ndarray] | GRUWeights, reset_after: bool | None = None) -> GRUWeights:
    """Accept a ``get_weights()`` list or a ``GRUWeights``; see :meth:`GRUWeights.from_keras`."""
    return GRUWeights.from_keras(weights, reset_after)


__all__ = ["GATES", "GRUWeights", "NamedSlices", "as_weights", "gate_block", "slice_names"]
