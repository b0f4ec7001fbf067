"""Dtype policies of saved layers: ``float32``, ``float64``, ``float16``, ``bfloat16``, ``mixed_float16``,
``mixed_bfloat16``.

A layer's ``dtype`` is saved as a plain string (``"float32"``, older tf-keras), as tf-keras's
``{"class_name": "Policy", "config": {"name": "mixed_float16"}}``, or as Keras 3's
``{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}, ...}``.
:func:`parse_policy` reads all three into a :class:`Policy`: the *variable* dtype (how the weights
are stored: float32 for ``mixed_*``) and the *compute* dtype (what ``call`` computes in).

With a float16 or bfloat16 compute dtype, refgru computes on float32 arrays that hold exactly
representable float16/bfloat16 values, rounding after each op (:mod:`refgru.core.precision` gives
the method and what TensorFlow does on CPU). :func:`wrap` gives every such layer Keras's autocast:
floating inputs are rounded to the compute dtype before ``call`` and floating outputs after it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

from ..core.precision import REDUCED, rounded_activation, rounder
from ..errors import RefgruError, describe

#: Policy name -> ``(variable dtype, compute dtype)``.
POLICIES = {
    "float32": ("float32", "float32"), "float64": ("float64", "float64"),
    "float16": ("float16", "float16"), "bfloat16": ("bfloat16", "bfloat16"),
    "mixed_float16": ("float32", "float16"), "mixed_bfloat16": ("float32", "bfloat16"),
}
#: The ``class_name`` of a saved policy dict: Keras 3 (``DTypePolicy``, ``FloatDTypePolicy``) and tf-keras (``Policy``).
POLICY_CLASSES = ("DTypePolicy", "FloatDTypePolicy", "Policy")


class Policy(NamedTuple):
    """A layer's dtype policy: ``name``, ``variable_dtype`` and ``compute_dtype`` (Keras names)."""

    name: str
    variable_dtype: str
    compute_dtype: str

    @property
    def reduced(self) -> bool:
        """Whether the compute dtype is float16 or bfloat16 (emulated on float32 carriers)."""
        return self.compute_dtype in REDUCED

    @property
    def carrier(self) -> np.dtype:
        """The NumPy dtype of the layer's arrays: the compute dtype, or float32 holding rounded values."""
        return np.dtype(np.float32) if self.reduced else np.dtype(self.compute_dtype)

    @property
    def round(self) -> Callable[[np.ndarray], np.ndarray]:
        """``x`` -> ``x`` cast to the compute dtype (rounded, in a float32 carrier when reduced)."""
        if self.reduced:
            return rounder(self.compute_dtype)
        carrier = self.carrier
        return lambda x: np.asarray(x).astype(carrier, copy=False)


    def activation(self, forward: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        """``forward`` as the layer computes it: as TensorFlow does in float16/bfloat16, else unchanged."""
        return rounded_activation(forward, self.round) if self.reduced else forward


def parse_policy(spec: Any, what: str, default: str = "float32") -> Policy:
    """The :class:`Policy` a saved ``dtype`` describes (``None`` means ``default``); ``what`` names it in errors."""
    name = spec
    if isinstance(spec, dict):
        config = spec.get("config")
        name = config.get("name") if isinstance(config, dict) else None
        if spec.get("class_name") not in POLICY_CLASSES or not isinstance(name, str):
            name = spec
    if name is None:
        name = default
    if not isinstance(name, str) or name not in POLICIES:
        raise RefgruError(f"{what}: expected a dtype policy among {', '.join(POLICIES)}, got {describe(name)}"
                          " (quantized layers are not supported)")
    return Policy(name, *POLICIES[name])


def _map_floats(value: Any, fn: Callable[[np.ndarray], np.ndarray]) -> Any:
    """``fn`` on every floating array of ``value`` (an array, or nested lists/tuples of them)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_map_floats(v, fn) for v in value)
    if value is not None and np.asarray(value).dtype.kind == "f":
        return fn(value)
    return value


def wrap(layer: Any, policy: Policy) -> Any:
    """Give a built layer its ``policy``; with a reduced compute dtype, Keras's autocast around ``call``."""
    layer.policy = policy
    if policy.reduced:
        call, q = layer.call, policy.round

        def autocast_call(inputs, mask, kwargs):
            return _map_floats(call(_map_floats(inputs, q), mask, kwargs), q)
        layer.call = autocast_call
    return layer


__all__ = ["POLICIES", "POLICY_CLASSES", "Policy", "parse_policy", "wrap"]
