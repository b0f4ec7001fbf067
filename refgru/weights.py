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

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._checks import as_numeric
from .convert.layouts import KerasArrays
from .errors import error

#: Keras gate order of the column blocks: update gate z, reset gate r, candidate h.
GATES = ("z", "r", "h")


def _block(array: np.ndarray | None, gate: str) -> np.ndarray | None:
    """The column block of ``gate`` in a ``(..., 3u)`` array, as a read-only view."""
    if array is None:
        return None
    u = array.shape[-1] // 3
    i = GATES.index(gate)
    return array[..., i * u : (i + 1) * u]


@dataclass(frozen=True, eq=False)
class GRUWeights(KerasArrays):
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

    # The fields kernel, recurrent_kernel, bias, reset_after and their checks come from KerasArrays.

    @classmethod
    def from_keras(cls, weights: Sequence[np.ndarray] | "GRUWeights", reset_after: bool | None = None) -> "GRUWeights":
        """Build from the list ``GRU.get_weights()`` returns: ``[kernel, recurrent_kernel(, bias)]``."""
        if isinstance(weights, GRUWeights):
            if reset_after is not None and bool(reset_after) != weights.reset_after:
                raise error("reset_after", f"{weights.reset_after} to match the given GRUWeights", reset_after)
            return weights
        if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
            raise error("weights", "the list GRU.get_weights() returns ([kernel, recurrent_kernel, bias] or [kernel, recurrent_kernel]) or a GRUWeights", weights)
        if len(weights) not in (2, 3):
            raise error("weights", "2 arrays (use_bias=False) or 3 arrays (kernel, recurrent_kernel, bias)", got=f"{len(weights)} arrays")
        bias = weights[2] if len(weights) == 3 else None
        return cls(weights[0], weights[1], bias, reset_after)

    def to_keras(self) -> list[np.ndarray]:
        """The list for ``GRU.set_weights()``: copies bit-identical to the arrays given."""
        arrays = [self.kernel, self.recurrent_kernel] + ([] if self.bias is None else [self.bias])
        return [a.copy() for a in arrays]

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    @property
    def input_dim(self) -> int:
        return self.kernel.shape[0]

    @property
    def use_bias(self) -> bool:
        return self.bias is not None

    @property
    def dtype(self) -> np.dtype:
        return self.kernel.dtype

    @property
    def input_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[b_z | b_r | b_h]``, added to ``x @ kernel``; ``None`` without a bias."""
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    @property
    def recurrent_bias(self) -> np.ndarray | None:
        """``(3u,)`` = ``[rb_z | rb_r | rb_h]``, added to ``h_tm1 @ recurrent_kernel``; only with ``reset_after``."""
        if self.bias is None or not self.reset_after:
            return None
        return self.bias[1]

    W_z = property(lambda self: _block(self.kernel, "z"), doc="``(input_dim, u)`` input weights of the update gate z.")
    W_r = property(lambda self: _block(self.kernel, "r"), doc="``(input_dim, u)`` input weights of the reset gate r.")
    W_h = property(lambda self: _block(self.kernel, "h"), doc="``(input_dim, u)`` input weights of the candidate hh.")
    U_z = property(lambda self: _block(self.recurrent_kernel, "z"), doc="``(u, u)`` recurrent weights of z.")
    U_r = property(lambda self: _block(self.recurrent_kernel, "r"), doc="``(u, u)`` recurrent weights of r.")
    U_h = property(lambda self: _block(self.recurrent_kernel, "h"), doc="``(u, u)`` recurrent weights of hh.")
    b_z = property(lambda self: _block(self.input_bias, "z"), doc="``(u,)`` input bias of z, or None.")
    b_r = property(lambda self: _block(self.input_bias, "r"), doc="``(u,)`` input bias of r, or None.")
    b_h = property(lambda self: _block(self.input_bias, "h"), doc="``(u,)`` input bias of hh, or None.")
    rb_z = property(lambda self: _block(self.recurrent_bias, "z"), doc="``(u,)`` recurrent bias of z (reset_after only).")
    rb_r = property(lambda self: _block(self.recurrent_bias, "r"), doc="``(u,)`` recurrent bias of r (reset_after only).")
    rb_h = property(lambda self: _block(self.recurrent_bias, "h"), doc="``(u,)`` recurrent bias of hh, inside r * (...) (reset_after only).")

    def slices(self) -> dict[str, np.ndarray | None]:
        """All twelve named slices, in the order W, U, b, rb and z, r, h within each."""
        names = [f"{p}_{g}" for p in ("W", "U", "b", "rb") for g in GATES]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        bias = "None" if self.bias is None else str(self.bias.shape)
        return (f"GRUWeights(units={self.units}, input_dim={self.input_dim}, reset_after={self.reset_after}, "
                f"use_bias={self.use_bias}, bias={bias}, dtype={self.dtype})")

    def to_torch(self, **options) -> dict[str, np.ndarray]:
        """``torch.nn.GRU`` parameters ``weight_ih_l0 (3u, input_dim)``, ...; see :func:`refgru.convert.to_torch`."""
        from .convert import torch as torch_arrays

        return torch_arrays.to_torch(self, **options)

    @classmethod
    def from_torch(cls, module_or_state_dict, layer: int = 0, direction: str = "forward", **options) -> "GRUWeights":
        """One layer of a ``torch.nn.GRU`` or its state dict; see :func:`refgru.convert.from_torch`."""
        from .convert import torch as torch_arrays

        return cls._from_arrays(torch_arrays.from_torch(module_or_state_dict, layer, direction, **options))

    def to_onnx(self) -> dict[str, object]:
        """ONNX ``GRU`` inputs ``W (1, 3u, input_dim)``, ``R``, ``B``, ``linear_before_reset``; see
        :func:`refgru.convert.to_onnx`."""
        from .convert import onnx_arrays

        return onnx_arrays.to_onnx(self)

    @classmethod
    def from_onnx(cls, W, R, B=None, linear_before_reset: int | None = None, direction: str | None = None):
        """From ONNX ``GRU`` inputs and the node's ``linear_before_reset`` (required; a list of two for a
        bidirectional node); see :func:`refgru.convert.from_onnx`."""
        from .convert import onnx_arrays

        return cls._from_layers(onnx_arrays.from_onnx(W, R, B, linear_before_reset, direction))

    @classmethod
    def from_onnx_node(cls, node_or_model, inputs=None, direction: str | None = None):
        """From an ONNX GRU ``NodeProto`` or one-GRU ``ModelProto``, every attribute read from the node; see
        :func:`refgru.onnx.node.weights_from_node`."""
        from .onnx import node

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


__all__ = ["GATES", "GRUWeights", "as_numeric", "as_weights"]
