"""Builders for ``BatchNormalization`` (inference form) and ``LayerNormalization``.

``BatchNormalization``: ``x * inv + (beta - moving_mean * inv)`` with
``inv = gamma / sqrt(moving_variance + epsilon)``, as ``tf.nn.batch_normalization`` computes it. Keys read:
``axis`` (an int in Keras 3; an int or a list in tf-keras, negative allowed), ``epsilon``, ``center``,
``scale``. Arrays in ``get_weights()`` order: ``gamma`` (if scale), ``beta`` (if center), ``moving_mean``,
``moving_variance``; shape ``(C,)`` for one axis, or the input's rank with 1 off the axes (tf-keras, several
axes). ``renorm`` and ``virtual_batch_size`` layers are refused.

``LayerNormalization``: mean and variance over ``axis`` (a list), then ``x * inv + (beta - mean * inv)``
with ``inv = gamma / sqrt(variance + epsilon)``. Keras 3's ``rms_scaling`` is ``x / sqrt(variance + epsilon)
* gamma`` (the *variance*, as Keras computes it) with no ``beta``. Both pass the mask on.
"""

from __future__ import annotations

import numpy as np

from .options import axis_list, bad, flag, number, raw, weights_of_some_rank
from .registry import Simple, as_float, check_weights, layer_dtype, register, where


def _positive(axes, ndim, cfg, cls):
    if not all(-ndim <= a < ndim for a in axes) or 0 in [a % ndim for a in axes]:
        raise bad(f"{where(cfg, cls)} axis", f"axes of a rank-{ndim} input other than the batch axis", list(axes))
    return [a % ndim for a in axes]


def _param_shape(values: np.ndarray, axes: list[int], ndim: int) -> np.ndarray:
    """Reshape one-axis (or per-axis) parameters to broadcast against a rank-``ndim`` input."""
    if values.ndim == ndim:
        return values
    shape = [1] * ndim
    for a, size in zip(axes, values.shape, strict=True):
        shape[a] = size
    return values.reshape(shape)


@register("BatchNormalization")
def batch_normalization(cfg, weights, ctx):
    cls = "BatchNormalization"
    for key in ("renorm", "virtual_batch_size"):
        if raw(cfg, cls, key, None) not in (None, False):
            raise bad(f"{where(cfg, cls)} {key}", "false or null (renorm and virtual batches are not supported)",
                        cfg[key])
    axes = axis_list(cfg, cls, "axis", -1)
    eps, center, scale = number(cfg, cls, "epsilon", 1e-3, minimum=0), flag(cfg, cls, "center", True), \
        flag(cfg, cls, "scale", True)
    names = ["gamma"] * scale + ["beta"] * center + ["moving_mean", "moving_variance"]
    if len(axes) == 1:
        arrays = check_weights(cfg, cls, weights, [(name, (None,)) for name in names])
    else:  # tf-keras: parameters of the input's rank, 1 on the batch axis and on the axes not normalized
        def expected(r):
            return [(name, tuple(None if a in [x % (r + 1) for x in axes] else 1 for a in range(r + 1)))
                    for name in names] if all(-r - 1 <= a <= r for a in axes) else None
        arrays = weights_of_some_rank(cfg, cls, weights, expected)
    if len({a.shape for a in arrays}) != 1:
        raise bad(f"{where(cfg, cls)} weights", f"{', '.join(names)} of one shape",
                    got=f"shapes {[a.shape for a in arrays]}")
    dtype = layer_dtype(cfg)
    params = dict(zip(names, (a.astype(dtype) for a in arrays), strict=True))

    def fn(x):
        x = as_float(x, dtype)
        positive = _positive(axes, x.ndim, cfg, cls)
        mean, var = (_param_shape(params[k], positive, x.ndim) for k in ("moving_mean", "moving_variance"))
        inv = 1 / np.sqrt(var + np.asarray(eps, dtype))
        if scale:
            inv = inv * _param_shape(params["gamma"], positive, x.ndim)
        offset = -mean * inv if not center else _param_shape(params["beta"], positive, x.ndim) - mean * inv
        return x * inv + offset
    return Simple(cfg, fn, cls, arrays, text=f"axis={list(axes)}, epsilon={eps}, center={center}, scale={scale}")


@register("LayerNormalization")
def layer_normalization(cfg, weights, ctx):
    cls = "LayerNormalization"
    axes = axis_list(cfg, cls, "axis", -1)
    eps, center, scale = number(cfg, cls, "epsilon", 1e-3, minimum=0), flag(cfg, cls, "center", True), \
        flag(cfg, cls, "scale", True)
    rms = flag(cfg, cls, "rms_scaling", False)
    if rms and ctx.keras_version == 2:
        raise bad(f"{where(cfg, cls)} rms_scaling", "no rms_scaling key in a tf-keras file", True)
    names = ["gamma"] * (scale or rms) + ["beta"] * (center and not rms)
    order = sorted(axes) if ctx.keras_version == 3 else axes  # Keras 3 sorts the raw axes before building
    arrays = check_weights(cfg, cls, weights, [(name, (None,) * len(axes)) for name in names])
    dtype = layer_dtype(cfg)
    params = dict(zip(names, (a.astype(dtype) for a in arrays), strict=True))

    def fn(x):
        x = as_float(x, dtype)
        positive = _positive(order, x.ndim, cfg, cls)
        if ctx.keras_version == 2:
            positive = sorted(positive)
        reduce = tuple(positive)
        mean = x.mean(axis=reduce, keepdims=True)
        var = np.square(x - mean).mean(axis=reduce, keepdims=True)
        inv = 1 / np.sqrt(var + np.asarray(eps, dtype))
        gamma = _param_shape(params["gamma"], positive, x.ndim) if "gamma" in params else None
        if rms:
            return x * inv if gamma is None else x * inv * gamma
        inv = inv if gamma is None else inv * gamma
        offset = -mean * inv if "beta" not in params else _param_shape(params["beta"], positive, x.ndim) - mean * inv
        return x * inv + offset
    return Simple(cfg, fn, cls, arrays,
                  text=f"axis={list(axes)}, epsilon={eps}, center={center}, scale={scale}" + (", rms" if rms else ""))
