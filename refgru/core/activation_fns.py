"""The forward functions of the Keras activations in NumPy; :mod:`refgru.core.activations` tables them.

Both Keras versions resolve the same names to the same functions, with one exception that changes
numbers: ``hard_sigmoid``.

- Keras 3: ``relu6(x + 3) / 6``, which is ``clip(x / 6 + 1/2, 0, 1)`` and saturates at +-3.
- Keras 2 (tf-keras): ``clip(0.2 * x + 0.5, 0, 1)``, which saturates at +-2.5.

The constants below are the ones Keras uses (``selu``), and the defaults of each Keras function
(``leaky_relu`` slope 0.2, ``elu``/``celu`` alpha 1, ``squareplus`` b 4, shrink thresholds 0.5).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

Activation = Callable[[np.ndarray], np.ndarray]

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
LEAKY_RELU_SLOPE = float(np.float32(0.2))
GELU_RSQRT2 = float(np.float32(0.7071067811865476))
_erfc = np.frompyfunc(math.erfc, 1, 1)


def const(x: np.ndarray, value: float) -> np.ndarray:
    """``value`` as a scalar of ``x``'s dtype, so float32 stays float32."""
    return np.asarray(value, dtype=x.dtype)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, evaluated without overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))``."""
    return np.logaddexp(const(x, 0), x)


def hard_sigmoid_keras3(x: np.ndarray) -> np.ndarray:
    """Keras 3: ``relu6(x + 3) / 6``."""
    return np.clip(x + const(x, 3), 0, 6) / const(x, 6)


def hard_sigmoid_keras2(x: np.ndarray) -> np.ndarray:
    """tf-keras: ``clip(0.2 * x + 0.5, 0, 1)``."""
    return np.clip(const(x, 0.2) * x + const(x, 0.5), 0, 1)


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def selu(x: np.ndarray) -> np.ndarray:
    return const(x, SELU_SCALE) * np.where(x > 0, x, const(x, SELU_ALPHA) * np.expm1(np.minimum(x, 0)))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU (the Keras default ``approximate=False``), as TF writes it: ``0.5 * x * erfc(-x / sqrt(2))``.

    TF casts ``1/sqrt(2)`` from a float32 constant, so float64 GELU uses ``float32(1/sqrt(2))`` too.
    """
    erfc = _erfc(-x * const(x, GELU_RSQRT2)).astype(x.dtype)
    return const(x, 0.5) * x * erfc


def silu(x: np.ndarray) -> np.ndarray:
    return x * sigmoid(x)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sparsemax(x: np.ndarray) -> np.ndarray:
    """Sparsemax over the last axis, step for step as ``keras.src.backend.tensorflow.nn.sparsemax``."""
    srt = -np.sort(-x, axis=-1)
    csum = np.cumsum(srt, axis=-1)
    k_range = np.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    support = srt - (csum - 1) / k_range > 0
    k = support.sum(axis=-1, keepdims=True).astype(x.dtype)
    tau = (np.where(support, csum, 0).sum(axis=-1, keepdims=True) - 1) / k
    return np.maximum(x - tau, 0).astype(x.dtype, copy=False)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def linear(x: np.ndarray) -> np.ndarray:
    return x


def hard_silu(x: np.ndarray) -> np.ndarray:
    """Keras 3: ``x * hard_sigmoid(x)``."""
    return x * hard_sigmoid_keras3(x)
