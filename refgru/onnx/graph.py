"""``OnnxGraph``: the nodes, initializers and tensor dtypes of one ONNX graph being built.

The ``onnx`` module is passed in, so that this file imports nothing beyond NumPy.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class OnnxGraph:
    """Nodes, initializers, a name counter and the dtype of named float tensors, for one ONNX graph.

    Attributes:
        onnx: the ``onnx`` module. nodes, initializers: what the graph holds so far.
        types: tensor name -> NumPy dtype, for the tensors whose dtype a later node needs.
        keras_version: decides ``hard_sigmoid`` in Dense and Activation layers (2 or 3).
    """

    def __init__(self, onnx_module, keras_version: int = 3):
        self.onnx = onnx_module
        self.nodes: list = []
        self.initializers: list = []
        self.types: dict[str, np.dtype] = {}
        self.keras_version = keras_version
        self.count = 0

    def name(self, base: str) -> str:
        """A fresh tensor or node name: ``"/"`` never occurs in a Keras layer name, so no clash with one."""
        self.count += 1
        return f"{base}/{self.count}"

    def const(self, base: str, value) -> str:
        """An initializer holding ``value``; returns its name."""
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(value), name))
        return name

    def const_like(self, value: float, x: str) -> str:
        """A scalar initializer in the dtype of tensor ``x``."""
        return self.const("c", np.asarray(value, self.types[x]))

    def op(self, op_type: str, inputs: Sequence[str], outputs: int = 1, **attributes) -> list[str]:
        """Add one node; returns the names of its ``outputs`` outputs."""
        names = [self.name(op_type.lower()) for _ in range(outputs)]
        node = self.onnx.helper.make_node(op_type, list(inputs), names, name=self.name(op_type), **attributes)
        self.nodes.append(node)
        return names

    def op1(self, op_type: str, *inputs: str, **attributes) -> str:
        """Add a node with one output; returns its name."""
        return self.op(op_type, inputs, **attributes)[0]

    def ints(self, values: Sequence[int]) -> str:
        """An int64 initializer (shapes, axes, slice bounds)."""
        return self.const("ints", np.array(values, np.int64))

    def cast(self, x: str, dtype: np.dtype) -> str:
        """``x`` in ``dtype``, as Keras casts a layer's inputs to its compute dtype (a Cast node if needed)."""
        if self.types.get(x) == np.dtype(dtype):
            return x
        y = self.op1("Cast", x, to=self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
        self.types[y] = np.dtype(dtype)
        return y


__all__ = ["OnnxGraph"]
