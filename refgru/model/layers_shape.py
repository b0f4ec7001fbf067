"""Builders for the spatial shape layers (``ZeroPadding1D/2D``, ``Cropping1D/2D``, ``UpSampling1D/2D``),
``Permute`` and the ``Dot`` merge.

Keys read: ``padding`` / ``cropping`` (an int, ``(before, after)``, or one pair per spatial axis),
``size``, ``interpolation`` (``nearest`` only), ``data_format``, ``dims`` (1-based, as Keras saves them),
``axes`` and ``normalize``. None of these layers passes a mask on (they do not support masking, and
``Dot.compute_mask`` returns None in both versions).

``Dot``: Keras's ``batch_dot`` of the two inputs over ``axes`` (an int or one per input, negative counted
from the end); a result of rank 1 becomes ``(B, 1)``. ``normalize`` L2-normalizes both inputs along their
axes first: ``x * min(1 / sqrt(sum(x^2)), 1e7)`` in Keras 3, ``x / sqrt(max(sum(x^2), 1e-12))`` in tf-keras.
"""

from __future__ import annotations

import numpy as np

from ..errors import RefgruError, describe
from .options import bad, channels_first, choice, flag, ints, pairs, raw
from .registry import Layer, Simple, check_weights, register, where
from .spatial import from_last, to_last


def _spatial(cls, n, fn_of_cfg):
    """Register ``cls``: an ``n``-D channels-last function ``fn_of_cfg(cfg) -> (fn, text)`` with ``data_format``."""
    def builder(cfg, weights, ctx):
        check_weights(cfg, cls, weights, [])
        first = n == 2 and channels_first(cfg, cls)
        fn, text = fn_of_cfg(cfg)
        return Simple(cfg, lambda x: from_last(fn(to_last(np.asarray(x), first)), first), cls,
                      supports_masking=False, text=text)
    builder.__name__ = cls.lower()
    register(cls)(builder)


def _zero_padding(cls, n):
    def make(cfg):
        widths = pairs(cfg, cls, "padding", n)
        return lambda x: np.pad(x, [(0, 0), *widths] + [(0, 0)] * (x.ndim - 1 - n)), f"padding={widths}"
    return make


def _cropping(cls, n):
    def make(cfg):
        crops = pairs(cfg, cls, "cropping", n)

        def fn(x):
            if any(a + b >= size for (a, b), size in zip(crops, x.shape[1:1 + n], strict=True)):
                raise RefgruError(f"input: expected spatial sizes above the cropping {crops}, got shape {x.shape}")
            kept = tuple(slice(a, size - b) for (a, b), size in zip(crops, x.shape[1:], strict=False))
            return x[(slice(None),) + kept]
        return fn, f"cropping={crops}"
    return make


def _up_sampling(cls, n):
    def make(cfg):
        size = ints(cfg, cls, "size", n, 2)
        if n == 2:
            choice(cfg, cls, "interpolation", ("nearest",), "nearest")

        def fn(x):
            for axis, s in enumerate(size, start=1):
                x = np.repeat(x, s, axis=axis)
            return x
        return fn, f"size={size}"
    return make


for _n in (1, 2):
    _spatial(f"ZeroPadding{_n}D", _n, _zero_padding(f"ZeroPadding{_n}D", _n))
    _spatial(f"Cropping{_n}D", _n, _cropping(f"Cropping{_n}D", _n))
    _spatial(f"UpSampling{_n}D", _n, _up_sampling(f"UpSampling{_n}D", _n))


@register("Permute")
def permute(cfg, weights, ctx):
    check_weights(cfg, "Permute", weights, [])
    value = raw(cfg, "Permute", "dims")
    dims = ints(cfg, "Permute", "dims", len(value) if isinstance(value, (list, tuple)) else 1)
    if sorted(dims) != list(range(1, len(dims) + 1)):
        raise bad(f"{where(cfg, 'Permute')} dims", "a permutation of 1..n", list(dims))

    def fn(x):
        if x.ndim != len(dims) + 1:
            raise RefgruError(f"input: expected an array of rank {len(dims) + 1} for dims {list(dims)}, got "
                              f"{describe(x)}")
        return np.transpose(x, (0, *dims))
    return Simple(cfg, fn, "Permute", supports_masking=False, text=f"dims={list(dims)}")


def _l2_normalize(x, axis, keras_version):
    square_sum = np.square(x).sum(axis=axis, keepdims=True)
    if keras_version == 3:
        with np.errstate(divide="ignore"):
            return x * np.minimum(1 / np.sqrt(square_sum), np.asarray(1e7, x.dtype))
    return x / np.sqrt(np.maximum(square_sum, np.asarray(1e-12, x.dtype)))


def batch_dot(x, y, axes):
    """Keras's ``batch_dot``: contract ``x`` axis ``axes[0]`` with ``y`` axis ``axes[1]``, per batch row."""
    xm, ym = np.moveaxis(x, axes[0], -1), np.moveaxis(y, axes[1], -1)
    out = np.einsum("bxk,byk->bxy", xm.reshape(len(x), -1, xm.shape[-1]), ym.reshape(len(y), -1, ym.shape[-1]))
    out = out.reshape(len(x), *xm.shape[1:-1], *ym.shape[1:-1])
    return out.reshape(len(x), 1) if out.ndim == 1 else out


class Dot(Layer):
    supports_masking = False

    def __init__(self, cfg, axes, normalize, keras_version):
        super().__init__(cfg, (), "Dot")
        self.axes, self.normalize, self.keras_version = axes, normalize, keras_version

    def call(self, inputs, mask, kwargs):
        if not isinstance(inputs, list) or len(inputs) != 2:
            raise RefgruError(f"inputs: expected a list of 2 tensors, got {describe(inputs)}")
        xs = [np.asarray(v) for v in inputs]
        axes = [a % x.ndim for a, x in zip(self.axes, xs, strict=True)]
        if 0 in axes or xs[0].shape[axes[0]] != xs[1].shape[axes[1]] or len(xs[0]) != len(xs[1]):
            raise RefgruError(f"inputs: expected equal sizes on axes {list(self.axes)} (not the batch axis), got "
                              f"shapes {xs[0].shape} and {xs[1].shape}")
        if self.normalize:
            xs = [_l2_normalize(x, a, self.keras_version) for x, a in zip(xs, axes, strict=True)]
        return batch_dot(xs[0], xs[1], axes)

    def describe(self):
        return f"axes={list(self.axes)}, normalize={self.normalize}"


@register("Dot")
def dot(cfg, weights, ctx):
    check_weights(cfg, "Dot", weights, [])
    value = raw(cfg, "Dot", "axes")
    axes = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(axes, (list, tuple)) or len(axes) != 2 or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in axes):
        raise bad(f"{where(cfg, 'Dot')} axes", "an int or a list of 2 ints", value)
    return Dot(cfg, tuple(axes), flag(cfg, "Dot", "normalize", False), ctx.keras_version)
