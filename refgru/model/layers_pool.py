"""Builders for the pooling layers: ``MaxPooling1D/2D``, ``AveragePooling1D/2D`` and the global ones.

Config keys read: ``pool_size``, ``strides`` (null means ``pool_size``), ``padding`` (``valid``, ``same``),
``data_format``, and ``keepdims`` for the global layers. ``same`` average pooling divides by the number
of real (unpadded) cells under each window, as TensorFlow's ``avg_pool`` does; ``same`` max pooling pads
with ``-inf``.

Masks: every pooling layer drops the mask. ``GlobalAveragePooling1D`` alone uses it: a masked mean over
the steps (Keras 3 zeroes masked steps with ``where``; tf-keras multiplies them by 0, so a masked inf or
NaN becomes NaN there). ``GlobalMaxPooling1D`` ignores a mask in both versions: it takes the maximum over
every step, masked ones too (pinned by the ``text_masked_mean`` zoo model).
"""

from __future__ import annotations

import numpy as np

from .options import channels_first, choice, flag, ints, raw
from .registry import Layer, Simple, as_float, check_weights, layer_dtype, register
from .spatial import from_last, to_last, windows


def _pool_builder(cls, n, kind):
    def builder(cfg, weights, ctx):
        check_weights(cfg, cls, weights, [])
        size = ints(cfg, cls, "pool_size", n, 2)
        strides = size if raw(cfg, cls, "strides", None) is None else ints(cfg, cls, "strides", n)
        padding, first, dtype = choice(cfg, cls, "padding", ("valid", "same"), "valid"), channels_first(cfg, cls), \
            layer_dtype(cfg)
        ones, axes = (1,) * n, tuple(range(-n, 0))

        def fn(x):
            x = to_last(as_float(x, dtype), first)
            if kind == "max":
                y = windows(x, size, strides, ones, padding, fill=-np.inf).max(axis=axes)
            else:
                y = windows(x, size, strides, ones, padding).sum(axis=axes)
                if padding == "same":
                    count = windows(np.ones((1, *x.shape[1:-1], 1), x.dtype), size, strides, ones, padding)
                    y = y / count.sum(axis=axes)
                else:
                    y = y / np.asarray(np.prod(size), x.dtype)
            return from_last(y.astype(dtype, copy=False), first)
        return Simple(cfg, fn, cls, supports_masking=False,
                      text=f"pool_size={size}, strides={strides}, padding={padding}")
    builder.__name__ = cls.lower()
    return builder


for _n in (1, 2):
    register(f"MaxPooling{_n}D", f"MaxPool{_n}D")(_pool_builder(f"MaxPooling{_n}D", _n, "max"))
    register(f"AveragePooling{_n}D", f"AvgPool{_n}D")(_pool_builder(f"AveragePooling{_n}D", _n, "average"))


class GlobalPooling(Layer):
    """``Global{Max,Average}Pooling{1,2}D``: the max or mean over the spatial axes (``keepdims`` keeps them)."""

    supports_masking = False

    def __init__(self, cfg, cls, n, kind, keras_version):
        super().__init__(cfg, (), cls)
        self.kind, self.keras_version, self.dtype = kind, keras_version, layer_dtype(cfg)
        self.keepdims, first = flag(cfg, cls, "keepdims", False), channels_first(cfg, cls)
        self.axes = tuple(range(2, 2 + n)) if first else tuple(range(1, 1 + n))
        self.uses_mask = cls == "GlobalAveragePooling1D"
        self.channel_axis = 1 if first else -1

    def call(self, inputs, mask, kwargs):
        x = as_float(inputs, self.dtype)
        if self.kind == "max":
            return x.max(axis=self.axes, keepdims=self.keepdims)
        if mask is None or not self.uses_mask:
            return x.mean(axis=self.axes, keepdims=self.keepdims)
        m = np.expand_dims(np.asarray(mask, bool), self.channel_axis)
        kept = np.where(m, x, 0) if self.keras_version == 3 else x * m.astype(x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):  # a fully masked row is 0 / 0 = NaN, as in Keras
            return kept.sum(axis=self.axes, keepdims=self.keepdims) / m.astype(x.dtype).sum(
                axis=self.axes, keepdims=self.keepdims)

    def describe(self):
        return f"keepdims={self.keepdims}" + (", masked mean" if self.uses_mask else "")


def _global_builder(cls, n, kind):
    def builder(cfg, weights, ctx):
        check_weights(cfg, cls, weights, [])
        return GlobalPooling(cfg, cls, n, kind, ctx.keras_version)
    builder.__name__ = cls.lower()
    return builder


for _n in (1, 2):
    for _kind, _short in (("Max", "Max"), ("Average", "Avg")):
        _cls = f"Global{_kind}Pooling{_n}D"
        register(_cls, f"Global{_short}Pool{_n}D")(_global_builder(_cls, _n, _kind.lower()))
