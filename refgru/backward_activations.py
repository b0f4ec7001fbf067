"""Derivatives of the Keras activations, as TensorFlow computes them, for :mod:`refgru.backward`.

Each entry is a vector-Jacobian product ``vjp(a, y, g) -> d_a``: ``a`` is the pre-activation,
``y = f(a)`` the activation's output and ``g = dL/dy`` the upstream gradient, all ``(B, u)``. For an
element-wise ``f`` this is ``g * f'(a)``; ``softmax`` and ``log_softmax`` mix the ``u`` units of a row.

At a kink, ``f'`` is the value TensorFlow's gradient gives there (``tests/test_backward.py`` pins
each one against ``tf.GradientTape``):

- ``relu``: 0 at ``a = 0``; ``relu6``: 0 at ``a = 0`` and ``a = 6`` (open interval).
- ``leaky_relu``: the slope ``float32(0.2)`` at ``a = 0``, not 1.
- ``hard_sigmoid``, Keras 3 ``relu6(a + 3) / 6``: ``1/6`` on the open interval ``-3 < a < 3``, 0 at +-3.
- ``hard_sigmoid``, tf-keras ``clip(0.2 a + 0.5, 0, 1)``: ``0.2`` on the *closed* interval
  ``-2.5 <= a <= 2.5`` (``tf.clip_by_value`` passes the gradient at its bounds).
- ``hard_tanh`` (``clip_by_value``): 1 on the closed interval ``[-1, 1]``.
- ``elu``: 1 at 0; ``selu``: ``scale`` at 0 and just below it (see ``_selu``); ``celu`` ``max(a, 0) + expm1(min(a, 0))``: **2** at 0,
  because TF's ``maximum`` and ``minimum`` both pass the gradient on a tie.
- ``sparse_sigmoid``: ``1/2`` on the open interval ``(-1, 1)``; ``hard_shrink``, ``soft_shrink``: 0 at +-0.5.

``sparsemax`` is not supported: Keras's formula for its threshold is not the textbook one, so its
gradient is not a standard derivative.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .activations import ACTIVATIONS, GELU_RSQRT2, LEAKY_RELU_SLOPE, SELU_ALPHA, SELU_SCALE, sigmoid, softplus
from .errors import describe, error

#: ``vjp(a, y, g) -> d_a``, each ``(B, u)``; see the module docstring.
Vjp = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _c(a: np.ndarray, value: float) -> np.ndarray:
    return np.asarray(value, dtype=a.dtype)


def _mask(a: np.ndarray, condition: np.ndarray) -> np.ndarray:
    """A bool array as ``0``/``1`` in ``a``'s dtype."""
    return condition.astype(a.dtype)


def _gelu(a: np.ndarray) -> np.ndarray:
    """``d/da 0.5 a erfc(-c a) = 0.5 erfc(-c a) + a c / sqrt(pi) exp(-(c a)^2)``, ``c = float32(1/sqrt(2))``."""
    c = _c(a, GELU_RSQRT2)
    erfc = np.frompyfunc(math.erfc, 1, 1)(-a * c).astype(a.dtype)
    return _c(a, 0.5) * erfc + a * c / _c(a, math.sqrt(math.pi)) * np.exp(-(a * c) ** 2)


def _mish(a: np.ndarray) -> np.ndarray:
    """``d/da a tanh(softplus(a)) = t + a (1 - t^2) sigmoid(a)`` with ``t = tanh(softplus(a))``."""
    t = np.tanh(softplus(a))
    return t + a * (1 - t * t) * sigmoid(a)


def _silu(a: np.ndarray) -> np.ndarray:
    """``d/da a sigmoid(a) = s (1 + a (1 - s))``, the form of TF's ``silu`` gradient."""
    s = sigmoid(a)
    return s * (1 + a * (1 - s))


def _selu(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y + scale * alpha`` where TF's forward ``scale * alpha * (exp(a) - 1)`` is negative, else ``scale``.

    TF computes ``exp(a) - 1``, not ``expm1(a)``: for ``-5.6e-17 < a < 0`` that is 0, and TF's
    gradient takes the ``scale`` branch there.
    """
    negative = (a < 0) & (np.exp(a) < 1)
    return np.where(negative, y + _c(a, SELU_SCALE * SELU_ALPHA), _c(a, SELU_SCALE))


def _hard_sigmoid_keras3(a: np.ndarray) -> np.ndarray:
    t = a + _c(a, 3)
    return _mask(a, (t > 0) & (t < 6)) / _c(a, 6)


def _hard_sigmoid_keras2(a: np.ndarray) -> np.ndarray:
    t = _c(a, 0.2) * a + _c(a, 0.5)
    return _mask(a, (t >= 0) & (t <= 1)) * _c(a, 0.2)


def _hard_silu(a: np.ndarray) -> np.ndarray:
    """``d/da a hard_sigmoid(a) = hard_sigmoid(a) + a hard_sigmoid'(a)`` (Keras 3 form)."""
    return ACTIVATIONS[3]["hard_sigmoid"](a) + a * _hard_sigmoid_keras3(a)


# f'(a) from (a, y) for the element-wise activations; vjp = g * f'(a).
_ELEMENTWISE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "tanh": lambda a, y: 1 - y * y,
    "sigmoid": lambda a, y: y * (1 - y),
    "relu": lambda a, y: _mask(a, a > 0),
    "linear": lambda a, y: np.ones_like(a),
    "softsign": lambda a, y: 1 / (1 + np.abs(a)) ** 2,
    "elu": lambda a, y: np.where(y < 0, y + 1, _c(a, 1)),
    "selu": lambda a, y: _selu(a, y),
    "exponential": lambda a, y: y,
    "swish": lambda a, y: _silu(a),
    "silu": lambda a, y: _silu(a),
    "gelu": lambda a, y: _gelu(a),
    "softplus": lambda a, y: sigmoid(a),
    "relu6": lambda a, y: _mask(a, (a > 0) & (a < 6)),
    "mish": lambda a, y: _mish(a),
    "leaky_relu": lambda a, y: np.where(a > 0, _c(a, 1), _c(a, LEAKY_RELU_SLOPE)),
}

_ELEMENTWISE_KERAS3: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "hard_sigmoid": lambda a, y: _hard_sigmoid_keras3(a),
    "hard_silu": lambda a, y: _hard_silu(a),
    "hard_swish": lambda a, y: _hard_silu(a),
    "log_sigmoid": lambda a, y: sigmoid(-a),
    "tanh_shrink": lambda a, y: np.tanh(a) ** 2,
    "sparse_plus": lambda a, y: np.where(a <= -1, _c(a, 0), np.where(a < 1, (a + 1) / 2, _c(a, 1))),
    "sparse_sigmoid": lambda a, y: _mask(a, (a > -1) & (a < 1)) / 2,
    "soft_shrink": lambda a, y: _mask(a, np.abs(a) > 0.5),
    "hard_shrink": lambda a, y: _mask(a, np.abs(a) > 0.5),
    "hard_tanh": lambda a, y: _mask(a, (a >= -1) & (a <= 1)),
    "celu": lambda a, y: _mask(a, a >= 0) + _mask(a, a <= 0) * np.exp(np.minimum(a, 0)),
    "squareplus": lambda a, y: (1 + a / np.sqrt(a * a + _c(a, 4))) / 2,
}


def _softmax_vjp(a: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``y = softmax(a)`` over the units: ``d_a = y * (g - sum(g * y))``."""
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def _log_softmax_vjp(a: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``y = log_softmax(a)``: ``d_a = g - exp(y) * sum(g)``."""
    return g - np.exp(y) * g.sum(axis=-1, keepdims=True)


def _elementwise_vjp(derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Vjp:
    return lambda a, y, g: g * derivative(a, y)


_COMMON_VJP: dict[str, Vjp] = {name: _elementwise_vjp(d) for name, d in _ELEMENTWISE.items()}
_COMMON_VJP.update(softmax=_softmax_vjp, log_softmax=_log_softmax_vjp)

#: Keras version -> activation name -> vjp. The names are those of ``ACTIVATIONS`` minus ``sparsemax``.
DERIVATIVES: dict[int, dict[str, Vjp]] = {
    3: {**_COMMON_VJP, **{name: _elementwise_vjp(d) for name, d in _ELEMENTWISE_KERAS3.items()}},
    2: {**_COMMON_VJP, "hard_sigmoid": _elementwise_vjp(lambda a, y: _hard_sigmoid_keras2(a))},
}


def get_derivative(spec: object, keras_version: int, argument: str) -> Vjp:
    """The vjp of the activation named ``spec`` (``None`` means ``"linear"``) in Keras ``keras_version``.

    Raises :class:`refgru.RefgruError` naming ``argument`` and the supported names for anything
    else, callables included (refgru cannot differentiate an arbitrary function).
    """
    table = DERIVATIVES[keras_version]
    if spec is None:
        return table["linear"]
    if isinstance(spec, str) and spec in table:
        return table[spec]
    names = ", ".join(sorted(table))
    hint = ""
    if isinstance(spec, str) and spec in DERIVATIVES[5 - keras_version]:
        hint = f" ({spec!r} exists only in Keras {5 - keras_version}; pass keras_version={5 - keras_version})"
    elif spec == "sparsemax":
        hint = " (Keras's sparsemax threshold has no standard derivative)"
    elif callable(spec):
        hint = " (refgru cannot differentiate a callable; pass one of the names)"
    got = f"{spec!r}{hint}" if isinstance(spec, str) else f"{describe(spec)}{hint}"
    expected = f"an activation refgru.gru_backward can differentiate in Keras {keras_version} ({names})"
    raise error(argument, expected, got=got)
