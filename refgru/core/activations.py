"""THE activation table: one entry per Keras name, holding its forward function and its derivative side by side.

Both Keras versions resolve the same names to the same functions, with one exception that changes
numbers: ``hard_sigmoid`` (Keras 3 ``relu6(x + 3) / 6``, saturating at +-3; tf-keras
``clip(0.2 * x + 0.5, 0, 1)``, saturating at +-2.5). An entry holds that split itself (``keras2=``),
and names that exist in only one version say so (``keras_versions``). The forward functions live in
:mod:`refgru.core.activation_fns`, the derivatives in :mod:`refgru.core.activation_vjps`.

Every other table keyed by activation name is derived from :data:`TABLE`: ``ACTIVATIONS[version][name]``
(forward) and ``DERIVATIVES[version][name]`` (vjp) are views of it, and the ONNX mapping is the
``onnx`` field of each entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np

from ..errors import describe, error
from . import activation_fns as f
from . import activation_vjps as d
from .activation_fns import LEAKY_RELU_SLOPE, const, sigmoid, softplus
from .activation_vjps import Vjp, as_01

Activation = Callable[[np.ndarray], np.ndarray]
KERAS_VERSIONS = (2, 3)


def _ew(derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Vjp:
    """The vjp ``g * f'(a)`` of an element-wise activation, from ``f'(a)`` written as ``derivative(a, y)``."""
    return lambda a, y, g: g * derivative(a, y)


@dataclass(frozen=True)
class ActivationEntry:
    """One Keras activation.

    Attributes:
        forward: ``y = f(a)``, an array ``(..., n)`` to an array of the same shape and dtype.
        vjp: ``vjp(a, y, g) -> d_a`` (:mod:`refgru.core.activation_vjps`), or ``None`` when refgru
            cannot differentiate it (``sparsemax``).
        keras_versions: the Keras major versions that know this name.
        keras2: the tf-keras definition where it differs from Keras 3's (``hard_sigmoid``), else ``None``.
        onnx: the ONNX mapping of this activation (filled by :mod:`refgru.onnx`); ``None`` where ONNX
            has none.
    """

    forward: Activation
    vjp: Vjp | None
    keras_versions: tuple[int, ...] = KERAS_VERSIONS
    keras2: "ActivationEntry | None" = None
    onnx: Any = None

    def for_version(self, keras_version: int) -> "ActivationEntry":
        """The definition Keras ``keras_version`` uses."""
        return self.keras2 if keras_version == 2 and self.keras2 is not None else self


_K3 = (3,)

#: Keras name -> entry. Forward and derivative of each activation on one line.
TABLE: dict[str, ActivationEntry] = {
    "tanh": ActivationEntry(np.tanh, _ew(lambda a, y: 1 - y * y)),
    "sigmoid": ActivationEntry(sigmoid, _ew(lambda a, y: y * (1 - y))),
    "relu": ActivationEntry(f.relu, _ew(lambda a, y: as_01(a, a > 0))),
    "linear": ActivationEntry(f.linear, _ew(lambda a, y: np.ones_like(a))),
    "softsign": ActivationEntry(lambda x: x / (1 + np.abs(x)), _ew(lambda a, y: 1 / (1 + np.abs(a)) ** 2)),
    "elu": ActivationEntry(f.elu, _ew(lambda a, y: np.where(y < 0, y + 1, const(a, 1)))),
    "selu": ActivationEntry(f.selu, _ew(d.d_selu)),
    "exponential": ActivationEntry(np.exp, _ew(lambda a, y: y)),
    "swish": ActivationEntry(f.silu, _ew(lambda a, y: d.d_silu(a))),
    "silu": ActivationEntry(f.silu, _ew(lambda a, y: d.d_silu(a))),
    "gelu": ActivationEntry(f.gelu, _ew(lambda a, y: d.d_gelu(a))),
    "softplus": ActivationEntry(softplus, _ew(lambda a, y: sigmoid(a))),
    "relu6": ActivationEntry(lambda x: np.clip(x, 0, 6), _ew(lambda a, y: as_01(a, (a > 0) & (a < 6)))),
    "mish": ActivationEntry(lambda x: x * np.tanh(softplus(x)), _ew(lambda a, y: d.d_mish(a))),
    # TF's LeakyRelu op keeps its slope in a 32-bit attribute, so float64 sees float32(0.2).
    "leaky_relu": ActivationEntry(lambda x: np.where(x > 0, x, const(x, LEAKY_RELU_SLOPE) * x),
                                  _ew(lambda a, y: np.where(a > 0, const(a, 1), const(a, LEAKY_RELU_SLOPE)))),
    "softmax": ActivationEntry(f.softmax, d.softmax_vjp),
    "log_softmax": ActivationEntry(f.log_softmax, d.log_softmax_vjp),
    "hard_sigmoid": ActivationEntry(
        f.hard_sigmoid_keras3, _ew(lambda a, y: d.d_hard_sigmoid_keras3(a)),
        keras2=ActivationEntry(f.hard_sigmoid_keras2, _ew(lambda a, y: d.d_hard_sigmoid_keras2(a)))),
    "hard_silu": ActivationEntry(f.hard_silu, _ew(lambda a, y: d.d_hard_silu(a)), _K3),
    "hard_swish": ActivationEntry(f.hard_silu, _ew(lambda a, y: d.d_hard_silu(a)), _K3),
    "log_sigmoid": ActivationEntry(lambda x: -softplus(-x), _ew(lambda a, y: sigmoid(-a)), _K3),
    "tanh_shrink": ActivationEntry(lambda x: x - np.tanh(x), _ew(lambda a, y: np.tanh(a) ** 2), _K3),
    "sparse_plus": ActivationEntry(
        lambda x: np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x)).astype(x.dtype),
        _ew(lambda a, y: np.where(a <= -1, const(a, 0), np.where(a < 1, (a + 1) / 2, const(a, 1)))), _K3),
    "sparse_sigmoid": ActivationEntry(
        lambda x: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)).astype(x.dtype),
        _ew(lambda a, y: as_01(a, (a > -1) & (a < 1)) / 2), _K3),
    "soft_shrink": ActivationEntry(
        lambda x: np.where(x > 0.5, x - const(x, 0.5), np.where(x < -0.5, x + const(x, 0.5), 0)).astype(x.dtype),
        _ew(lambda a, y: as_01(a, np.abs(a) > 0.5)), _K3),
    "hard_shrink": ActivationEntry(lambda x: np.where(np.abs(x) > 0.5, x, 0).astype(x.dtype),
                                   _ew(lambda a, y: as_01(a, np.abs(a) > 0.5)), _K3),
    "hard_tanh": ActivationEntry(lambda x: np.clip(x, -1, 1), _ew(lambda a, y: as_01(a, (a >= -1) & (a <= 1))), _K3),
    "celu": ActivationEntry(lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0)),
                            _ew(lambda a, y: as_01(a, a >= 0) + as_01(a, a <= 0) * np.exp(np.minimum(a, 0))), _K3),
    "squareplus": ActivationEntry(lambda x: (x + np.sqrt(x * x + const(x, 4))) / const(x, 2),
                                  _ew(lambda a, y: (1 + a / np.sqrt(a * a + const(a, 4))) / 2), _K3),
    "sparsemax": ActivationEntry(f.sparsemax, None, _K3),
}

# Names Keras resolves but that cannot be a GRU activation: they need extra arguments ("threshold")
# or change the last dimension ("glu"), so the Keras layer itself fails with them.
NOT_ELEMENTWISE = {"glu": "it halves the last dimension", "threshold": "it needs extra arguments"}

#: Keras version -> name -> forward function (a view of :data:`TABLE`).
ACTIVATIONS: dict[int, dict[str, Activation]] = {
    v: {name: e.for_version(v).forward for name, e in TABLE.items() if v in e.keras_versions} for v in KERAS_VERSIONS}
#: Keras version -> name -> vjp, for the names refgru can differentiate (a view of :data:`TABLE`).
DERIVATIVES: dict[int, dict[str, Vjp]] = {
    v: {name: e.for_version(v).vjp for name, e in TABLE.items() if v in e.keras_versions and e.vjp is not None}
    for v in KERAS_VERSIONS}


class ResolvedActivation(NamedTuple):
    """An activation as a layer uses it: its printable ``name``, ``forward`` and ``vjp`` (``None`` for a
    callable or ``sparsemax``), and its table ``entry`` (``None`` for a callable)."""

    name: str
    forward: Activation
    vjp: Vjp | None
    entry: ActivationEntry | None


def check_keras_version(keras_version: object) -> int:
    """Return ``keras_version`` as 2 or 3, or raise :class:`RefgruError`."""
    if isinstance(keras_version, bool) or keras_version not in KERAS_VERSIONS:
        raise error("keras_version", "2 or 3", keras_version)
    return int(keras_version)  # type: ignore[call-overload]


def resolve_activation(spec: object, keras_version: int, argument: str = "activation") -> ResolvedActivation:
    """Resolve a Keras name, ``None`` (Keras treats it as ``"linear"``) or a callable, in Keras ``keras_version``."""
    keras_version = check_keras_version(keras_version)
    if spec is None:
        spec = "linear"
    if callable(spec):
        return ResolvedActivation(getattr(spec, "__name__", repr(spec)), spec, None, None)
    entry = TABLE.get(spec) if isinstance(spec, str) else None
    if entry is not None and keras_version in entry.keras_versions:
        chosen = entry.for_version(keras_version)
        return ResolvedActivation(spec, chosen.forward, chosen.vjp, chosen)
    if isinstance(spec, str) and spec in NOT_ELEMENTWISE:
        raise error(argument, "an element-wise activation", got=f"{spec!r}: {NOT_ELEMENTWISE[spec]}")
    other = 5 - keras_version
    hint = f" ({spec!r} exists only in Keras {other}; pass keras_version={other})" if spec in ACTIVATIONS[other] else ""
    names = ", ".join(sorted(ACTIVATIONS[keras_version]))
    raise error(argument, f"a Keras {keras_version} activation name ({names}) or a callable",
                got=f"{describe(spec)}{hint}")


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
    return resolve_activation(spec, keras_version, argument).forward


def require_vjp(activation: ResolvedActivation, keras_version: int, argument: str) -> Vjp:
    """The vjp of a resolved activation, or a :class:`RefgruError` saying why refgru cannot differentiate it."""
    if activation.vjp is not None:
        return activation.vjp
    hint = (" (refgru cannot differentiate a callable; pass one of the names)" if activation.entry is None
            else " (Keras's sparsemax threshold has no standard derivative)")
    names = ", ".join(sorted(DERIVATIVES[keras_version]))
    got = f"{activation.name!r}{hint}" if activation.entry is not None else f"{describe(activation.forward)}{hint}"
    raise error(argument, f"an activation refgru.gru_backward can differentiate in Keras {keras_version} ({names})",
                got=got)


def get_derivative(spec: object, keras_version: int, argument: str) -> Vjp:
    """The vjp of the activation ``spec`` (``None`` means ``"linear"``) in Keras ``keras_version``."""
    return require_vjp(resolve_activation(spec, keras_version, argument), keras_version, argument)


__all__ = ["ACTIVATIONS", "DERIVATIVES", "TABLE", "Activation", "ActivationEntry", "ResolvedActivation",
           "check_keras_version", "get_activation", "get_derivative", "require_vjp", "resolve_activation"]
