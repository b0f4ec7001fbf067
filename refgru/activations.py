"""Keras activations in NumPy, looked up by name for a given Keras major version.

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

from .errors import RefgruError, describe

Activation = Callable[[np.ndarray], np.ndarray]

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
LEAKY_RELU_SLOPE = float(np.float32(0.2))
GELU_RSQRT2 = float(np.float32(0.7071067811865476))
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _c(x: np.ndarray, value: float) -> np.ndarray:
    """``value`` as a scalar of ``x``'s dtype, so float32 stays float32."""
    return np.asarray(value, dtype=x.dtype)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``, evaluated without overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x))``."""
    return np.logaddexp(_c(x, 0), x)


def hard_sigmoid_keras3(x: np.ndarray) -> np.ndarray:
    """Keras 3: ``relu6(x + 3) / 6``."""
    return np.clip(x + _c(x, 3), 0, 6) / _c(x, 6)


def hard_sigmoid_keras2(x: np.ndarray) -> np.ndarray:
    """tf-keras: ``clip(0.2 * x + 0.5, 0, 1)``."""
    return np.clip(_c(x, 0.2) * x + _c(x, 0.5), 0, 1)


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def selu(x: np.ndarray) -> np.ndarray:
    return _c(x, SELU_SCALE) * np.where(x > 0, x, _c(x, SELU_ALPHA) * np.expm1(np.minimum(x, 0)))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU (the Keras default ``approximate=False``), as TF writes it: ``0.5 * x * erfc(-x / sqrt(2))``.

    TF casts ``1/sqrt(2)`` from a float32 constant, so float64 GELU uses ``float32(1/sqrt(2))`` too.
    """
    erfc = _erfc(-x * _c(x, GELU_RSQRT2)).astype(x.dtype)
    return _c(x, 0.5) * x * erfc


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


_COMMON: dict[str, Activation] = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0),
    "linear": lambda x: x,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "elu": elu,
    "selu": selu,
    "exponential": np.exp,
    "swish": silu,
    "silu": silu,
    "gelu": gelu,
    "softplus": softplus,
    "relu6": lambda x: np.clip(x, 0, 6),
    "mish": lambda x: x * np.tanh(softplus(x)),
    # TF's LeakyRelu op keeps its slope in a 32-bit attribute, so float64 sees float32(0.2).
    "leaky_relu": lambda x: np.where(x > 0, x, _c(x, LEAKY_RELU_SLOPE) * x),
    "softmax": softmax,
    "log_softmax": log_softmax,
}

_KERAS3_ONLY: dict[str, Activation] = {
    "hard_sigmoid": hard_sigmoid_keras3,
    "hard_silu": lambda x: x * hard_sigmoid_keras3(x),
    "hard_swish": lambda x: x * hard_sigmoid_keras3(x),
    "log_sigmoid": lambda x: -softplus(-x),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x)).astype(x.dtype),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)).astype(x.dtype),
    "soft_shrink": lambda x: np.where(x > 0.5, x - _c(x, 0.5), np.where(x < -0.5, x + _c(x, 0.5), 0)).astype(x.dtype),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0).astype(x.dtype),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "celu": lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0)),
    "squareplus": lambda x: (x + np.sqrt(x * x + _c(x, 4))) / _c(x, 2),
    "sparsemax": sparsemax,
}

_KERAS2_ONLY: dict[str, Activation] = {
    "hard_sigmoid": hard_sigmoid_keras2,
}

# Names Keras resolves but that cannot be a GRU activation: they need extra arguments ("threshold")
# or change the last dimension ("glu"), so the Keras layer itself fails with them.
_NOT_ELEMENTWISE = {"glu": "it halves the last dimension", "threshold": "it needs extra arguments"}

ACTIVATIONS: dict[int, dict[str, Activation]] = {
    2: {**_COMMON, **_KERAS2_ONLY},
    3: {**_COMMON, **_KERAS3_ONLY},
}


def check_keras_version(keras_version: object) -> int:
    """Return ``keras_version`` as 2 or 3, or raise :class:`RefgruError`."""
    if isinstance(keras_version, bool) or keras_version not in (2, 3):
        raise RefgruError(f"keras_version: expected 2 or 3, got {describe(keras_version)}")
    return int(keras_version)  # type: ignore[call-overload]


def get_activation(spec: str | Activation | None, keras_version: int = 3, argument: str = "activation") -> Activation:
    """Resolve a Keras activation name (or a callable) to a NumPy function.

    Arguments:
        spec: a Keras name such as ``"tanh"``, ``None`` (Keras treats it as ``"linear"``), or a
            callable that maps an array to an array of the same shape.
        keras_version: 2 for tf-keras, 3 for Keras 3; decides ``hard_sigmoid`` and which names exist.
        argument: the argument name used in error messages.

    Returns:
        A function from an array ``(..., n)`` to an array ``(..., n)`` of the same dtype.
    """
    keras_version = check_keras_version(keras_version)
    if spec is None:
        return _COMMON["linear"]
    if callable(spec):
        return spec
    table = ACTIVATIONS[keras_version]
    if isinstance(spec, str) and spec in table:
        return table[spec]
    if isinstance(spec, str) and spec in _NOT_ELEMENTWISE:
        raise RefgruError(f"{argument}: expected an element-wise activation, got {spec!r}: {_NOT_ELEMENTWISE[spec]}")
    other = 5 - keras_version
    hint = f" ({spec!r} exists only in Keras {other}; pass keras_version={other})" if spec in ACTIVATIONS[other] else ""
    names = ", ".join(sorted(table))
    raise RefgruError(f"{argument}: expected a Keras {keras_version} activation name ({names}) or a callable, got {describe(spec)}{hint}")
