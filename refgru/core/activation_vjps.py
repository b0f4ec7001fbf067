"""The derivatives of the Keras activations, as TensorFlow computes them; :mod:`refgru.core.activations` tables them.

A table entry's ``vjp`` is a vector-Jacobian product ``vjp(a, y, g) -> d_a``: ``a`` is the pre-activation,
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
- ``elu``: 1 at 0; ``selu``: ``scale`` at 0 and just below it (see ``d_selu``);
  ``celu`` ``max(a, 0) + expm1(min(a, 0))``: **2** at 0,
  because TF's ``maximum`` and ``minimum`` both pass the gradient on a tie.
- ``sparse_sigmoid``: ``1/2`` on the open interval ``(-1, 1)``; ``hard_shrink``, ``soft_shrink``: 0 at +-0.5.

``sparsemax`` is not supported: Keras's formula for its threshold is not the textbook one, so its
gradient is not a standard derivative.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .activation_fns import GELU_RSQRT2, SELU_ALPHA, SELU_SCALE, const, hard_sigmoid_keras3, sigmoid, softplus

#: ``vjp(a, y, g) -> d_a``, each ``(B, u)``; see the module docstring.
Vjp = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def as_01(a: np.ndarray, condition: np.ndarray) -> np.ndarray:
    """A bool array as ``0``/``1`` in ``a``'s dtype."""
    return condition.astype(a.dtype)


def d_gelu(a: np.ndarray) -> np.ndarray:
    """``d/da 0.5 a erfc(-c a) = 0.5 erfc(-c a) + a c / sqrt(pi) exp(-(c a)^2)``, ``c = float32(1/sqrt(2))``."""
    c = const(a, GELU_RSQRT2)
    erfc = np.frompyfunc(math.erfc, 1, 1)(-a * c).astype(a.dtype)
    return const(a, 0.5) * erfc + a * c / const(a, math.sqrt(math.pi)) * np.exp(-(a * c) ** 2)


def d_mish(a: np.ndarray) -> np.ndarray:
    """``d/da a tanh(softplus(a)) = t + a (1 - t^2) sigmoid(a)`` with ``t = tanh(softplus(a))``."""
    t = np.tanh(softplus(a))
    return t + a * (1 - t * t) * sigmoid(a)


def d_silu(a: np.ndarray) -> np.ndarray:
    """``d/da a sigmoid(a) = s (1 + a (1 - s))``, the form of TF's ``silu`` gradient."""
    s = sigmoid(a)
    return s * (1 + a * (1 - s))


def d_selu(a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y + scale * alpha`` where TF's forward ``scale * alpha * (exp(a) - 1)`` is negative, else ``scale``.

    TF computes ``exp(a) - 1``, not ``expm1(a)``: for ``-5.6e-17 < a < 0`` that is 0, and TF's
    gradient takes the ``scale`` branch there.
    """
    negative = (a < 0) & (np.exp(a) < 1)
    return np.where(negative, y + const(a, SELU_SCALE * SELU_ALPHA), const(a, SELU_SCALE))


def d_hard_sigmoid_keras3(a: np.ndarray) -> np.ndarray:
    t = a + const(a, 3)
    return as_01(a, (t > 0) & (t < 6)) / const(a, 6)


def d_hard_sigmoid_keras2(a: np.ndarray) -> np.ndarray:
    t = const(a, 0.2) * a + const(a, 0.5)
    return as_01(a, (t >= 0) & (t <= 1)) * const(a, 0.2)


def d_hard_silu(a: np.ndarray) -> np.ndarray:
    """``d/da a hard_sigmoid(a) = hard_sigmoid(a) + a hard_sigmoid'(a)`` (Keras 3 form)."""
    return hard_sigmoid_keras3(a) + a * d_hard_sigmoid_keras3(a)


def softmax_vjp(a: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``y = softmax(a)`` over the units: ``d_a = y * (g - sum(g * y))``."""
    return y * (g - (g * y).sum(axis=-1, keepdims=True))


def log_softmax_vjp(a: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``y = log_softmax(a)``: ``d_a = g - exp(y) * sum(g)``."""
    return g - np.exp(y) * g.sum(axis=-1, keepdims=True)
