"""ONE table from a Keras activation name to ONNX: the ONNX ``GRU`` operator's function and, for Dense
and Activation layers, the nodes that compute it on a tensor.

Each GRU mapping was checked against Keras 3, tf-keras and onnxruntime (tests/test_convert_onnx.py).
The names are a subset of :data:`refgru.activations.ACTIVATIONS` for the same Keras version (a test
checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..activations import LEAKY_RELU_SLOPE, SELU_ALPHA, SELU_SCALE


@dataclass(frozen=True)
class OnnxActivation:
    """How ONNX computes one Keras activation.

    Attributes:
        function, alpha, beta: the ONNX GRU operator's activation function and its values (``None`` where
            that function takes none); ``function=None`` when the operator has no such function.
        nodes: ``(graph, x) -> y`` for a tensor; by default the ONNX operator of the same name as
            ``function`` with ``alpha`` and ``beta`` as attributes.
    """

    function: str | None = None
    alpha: float | None = None
    beta: float | None = None
    nodes: Callable | None = None

    def apply(self, g, x: str) -> str:
        """The nodes computing this activation on tensor ``x`` of graph ``g``; returns the output name."""
        if self.nodes is not None:
            return self.nodes(g, x)
        values = {k: v for k, v in (("alpha", self.alpha), ("beta", self.beta)) if v is not None}
        return g.op1(self.function, x, **values)


def _swish(g, x: str) -> str:
    return g.op1("Mul", x, g.op1("Sigmoid", x))


_COMMON = {
    "tanh": OnnxActivation("Tanh"),
    "sigmoid": OnnxActivation("Sigmoid"),
    "relu": OnnxActivation("Relu"),
    "linear": OnnxActivation("Affine", 1.0, 0.0, nodes=lambda g, x: x),
    "softsign": OnnxActivation("Softsign"),
    "softplus": OnnxActivation("Softplus"),
    "elu": OnnxActivation("Elu", 1.0),
    "leaky_relu": OnnxActivation("LeakyRelu", LEAKY_RELU_SLOPE),
    "softmax": OnnxActivation(nodes=lambda g, x: g.op1("Softmax", x, axis=-1)),
    "log_softmax": OnnxActivation(nodes=lambda g, x: g.op1("LogSoftmax", x, axis=-1)),
    "selu": OnnxActivation(nodes=lambda g, x: g.op1("Selu", x, alpha=SELU_ALPHA, gamma=SELU_SCALE)),
    "exponential": OnnxActivation(nodes=lambda g, x: g.op1("Exp", x)),
    "relu6": OnnxActivation(nodes=lambda g, x: g.op1("Clip", x, g.const_like(0, x), g.const_like(6, x))),
    "swish": OnnxActivation(nodes=_swish),
    "silu": OnnxActivation(nodes=_swish),
}

#: Keras version -> activation name -> :class:`OnnxActivation`.
ONNX_TABLE: dict[int, dict[str, OnnxActivation]] = {
    2: {**_COMMON, "hard_sigmoid": OnnxActivation("HardSigmoid", 0.2, 0.5)},
    3: {**_COMMON, "hard_sigmoid": OnnxActivation("HardSigmoid", 1 / 6, 0.5), "celu": OnnxActivation("Elu", 1.0),
        "sparse_sigmoid": OnnxActivation("HardSigmoid", 0.5, 0.5)},
}

#: The view of :data:`ONNX_TABLE` the GRU operator uses: name -> (function, alpha, beta).
ONNX_ACTIVATIONS: dict[int, dict[str, tuple[str, float | None, float | None]]] = {
    version: {name: (a.function, a.alpha, a.beta) for name, a in table.items() if a.function is not None}
    for version, table in ONNX_TABLE.items()
}

#: The activations the ONNX GRU operator defines.
ONNX_GRU_FUNCTIONS = ("Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
                      "HardSigmoid", "Elu", "Softsign", "Softplus")

__all__ = ["ONNX_ACTIVATIONS", "ONNX_GRU_FUNCTIONS", "ONNX_TABLE", "OnnxActivation"]
