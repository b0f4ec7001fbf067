"""Builders for the activation layers: ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``,
``ThresholdedReLU``. All of them pass the mask on; ``Softmax`` also uses it.

- ``ReLU(max_value, negative_slope, threshold)``: Keras's ``relu`` (both versions):
  ``where(x > threshold, x, 0)`` (or ``max(x, 0)``), clipped to ``max_value``, minus
  ``negative_slope * relu(threshold - x)``; ``negative_slope`` alone is ``leaky_relu``.
- ``LeakyReLU``: ``where(x > 0, x, slope * x)``; the slope key is ``alpha`` in tf-keras and
  ``negative_slope`` in Keras 3 (default 0.3 in both).
- ``PReLU``: ``relu(x) - alpha * relu(-x)``, ``alpha`` of the input's shape without the batch axis and with
  1 on ``shared_axes``.
- ``ELU``: ``elu(x) * alpha`` where ``x <= 0``. Keras 3 does not save ``alpha`` (its reload uses 1.0), so a
  Keras 3 file without the key gets 1.0, as Keras itself does.
- ``Softmax(axis)``: an int or a list of axes. With a mask, masked positions become -1e9 before the softmax
  (tf-keras adds ``(1 - mask) * -1e9``; Keras 3 uses ``where`` and then zeroes the masked outputs).
- ``ThresholdedReLU(theta)`` (tf-keras only): ``x * (x > theta)``.
"""

from __future__ import annotations

import numpy as np

from ..activations import elu as unit_elu
from .options import axis_list, bad, number, raw, weights_of_some_rank
from .registry import Layer, Simple, as_float, check_weights, layer_dtype, register, where


def _c(x, value):
    return np.asarray(value, x.dtype)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ``relu`` with its three options, step by step as both versions compute it."""
    if negative_slope != 0 and max_value is None and threshold == 0:
        return np.where(x > 0, x, _c(x, negative_slope) * x)
    negative = np.maximum(_c(x, threshold) - x, 0) if negative_slope != 0 else None
    y = np.where(x > _c(x, threshold), x, _c(x, 0)) if threshold != 0 else np.maximum(x, _c(x, 0))
    if max_value is not None:
        y = np.clip(y, _c(x, 0), _c(x, max_value))
    return y if negative is None else y - _c(x, negative_slope) * negative


def _simple(cls, fn_of_cfg):
    """Register ``cls``: a layer with no arrays, ``fn_of_cfg(cfg, ctx) -> (fn, text)``."""
    def builder(cfg, weights, ctx):
        check_weights(cfg, cls, weights, [])
        fn, text = fn_of_cfg(cfg, ctx)
        dtype = layer_dtype(cfg)
        return Simple(cfg, lambda x: fn(as_float(x, dtype)), cls, text=text)
    builder.__name__ = cls.lower()
    register(cls)(builder)


def _relu(cfg, ctx):
    max_value = number(cfg, "ReLU", "max_value", None, minimum=0, allow_none=True)
    slope = number(cfg, "ReLU", "negative_slope", 0.0, minimum=0)
    threshold = number(cfg, "ReLU", "threshold", 0.0, minimum=0 if ctx.keras_version == 3 else None)
    return (lambda x: relu(x, slope, max_value, threshold),
            f"max_value={max_value}, negative_slope={slope}, threshold={threshold}")


def _leaky_relu(cfg, ctx):
    key = "negative_slope" if "negative_slope" in cfg or ctx.keras_version == 3 else "alpha"
    slope = number(cfg, "LeakyReLU", key, 0.3, minimum=0)
    return (lambda x: relu(x, slope) if slope else np.maximum(x, _c(x, 0))), f"{key}={slope}"


def _elu(cfg, ctx):
    alpha = number(cfg, "ELU", "alpha", 1.0)

    def fn(x):
        y = unit_elu(x)
        return y if alpha == 1 else np.where(x > 0, y, _c(x, alpha) * y)
    return fn, f"alpha={alpha}"


def _thresholded_relu(cfg, ctx):
    theta = number(cfg, "ThresholdedReLU", "theta", 1.0, minimum=0)
    return (lambda x: x * (x > _c(x, theta)).astype(x.dtype)), f"theta={theta}"


_simple("ReLU", _relu)
_simple("LeakyReLU", _leaky_relu)
_simple("ELU", _elu)
_simple("ThresholdedReLU", _thresholded_relu)


@register("PReLU")
def prelu(cfg, weights, ctx):
    cls = "PReLU"
    shared = raw(cfg, cls, "shared_axes", None)
    shared = [] if shared is None else axis_list(cfg, cls, "shared_axes")
    if any(a < 1 for a in shared):
        raise bad(f"{where(cfg, cls)} shared_axes", "axes >= 1 (the batch axis is never shared)", list(shared))

    def expected(rank):  # alpha has the input's rank minus the batch axis
        return [("alpha", tuple(1 if i + 1 in shared else None for i in range(rank)))] \
            if all(a <= rank for a in shared) else None
    (alpha,) = weights_of_some_rank(cfg, cls, weights, expected)
    dtype = layer_dtype(cfg)
    a = alpha.astype(dtype)

    def fn(x):
        x = as_float(x, dtype)
        if a.ndim != x.ndim - 1:
            raise bad(f"{where(cfg, cls)} weights", f"alpha of rank {x.ndim - 1} (the input's without the batch axis)",
                      tuple(a.shape))
        return np.maximum(x, _c(x, 0)) - a * np.maximum(-x, _c(x, 0))
    return Simple(cfg, fn, cls, [alpha], text=f"shared_axes={list(shared) or None}")


def _softmax(x, axes):
    shifted = x - x.max(axis=axes, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axes, keepdims=True)


class Softmax(Layer):
    def __init__(self, cfg, axes, keras_version):
        super().__init__(cfg, (), "Softmax")
        self.axes, self.keras_version, self.dtype = axes, keras_version, layer_dtype(cfg)

    def call(self, inputs, mask, kwargs):
        x = as_float(inputs, self.dtype)
        if mask is None:
            return _softmax(x, self.axes)
        m = np.broadcast_to(np.asarray(mask), np.broadcast_shapes(np.shape(mask), x.shape))
        keep = m if m.dtype == bool else m > 0.5
        big = _c(x, -1e9)
        if self.keras_version == 2 and m.dtype != bool:
            x = x + (1 - m.astype(x.dtype)) * big
        elif self.keras_version == 2:
            x = x + (1 - keep.astype(x.dtype)) * big
        else:
            x = np.where(keep, x, big)
        y = _softmax(x, self.axes)
        return np.where(keep, y, _c(x, 0)) if self.keras_version == 3 else y

    def describe(self):
        return f"axis={list(self.axes) if len(self.axes) > 1 else self.axes[0]}"


@register("Softmax")
def softmax(cfg, weights, ctx):
    check_weights(cfg, "Softmax", weights, [])
    return Softmax(cfg, axis_list(cfg, "Softmax", "axis", -1), ctx.keras_version)
