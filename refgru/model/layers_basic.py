"""Builders for the layers around a GRU: inputs, masks, Dense, shape layers, merges, TimeDistributed.

Each builder reads the Keras config keys of its class and returns a :class:`~refgru.model.registry.Layer`
whose ``call`` is the inference-time computation. Mask rules follow each class's ``compute_mask``.
"""

from __future__ import annotations

import numpy as np

from ..core.precision import REDUCED, rounder
from ..errors import RefgruError, describe
from .registry import (
    Layer,
    Simple,
    activation,
    as_float,
    check_weights,
    layer_dtype,
    layer_policy,
    policy_config,
    register,
    variable,
    where,
)


def _identity(x):
    return x


@register("InputLayer")
def input_layer(cfg, weights, ctx):
    """``InputLayer``: the model's inputs are cast to its ``dtype`` (``float32`` unless saved otherwise)."""
    check_weights(cfg, "InputLayer", weights, [])
    spec = cfg.get("dtype") or "float32"
    if isinstance(spec, dict):
        spec = spec.get("config", {}).get("name", "float32")
    if spec in REDUCED:  # a float16/bfloat16 input: rounded values in a float32 carrier
        dtype, cast = np.dtype(np.float32), rounder(spec)
    else:
        try:
            dtype = np.dtype(spec)
        except TypeError:
            dtype = np.dtype(object)
        if dtype.kind not in "biuf":
            raise RefgruError(f"{where(cfg, 'InputLayer')} dtype: expected a numeric dtype name, got {describe(spec)}")
        cast = lambda x: np.asarray(x).astype(dtype, copy=False)  # noqa: E731
    shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
    layer = Simple(cfg, cast, "InputLayer", supports_masking=False,
                   text=f"shape {tuple(shape) if shape else '?'}, {spec if spec in REDUCED else dtype}")
    layer.dtype, layer.shape = dtype, shape
    return layer


@register("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout")
def inference_identity(cfg, weights, ctx):
    """Dropout and noise layers are the identity at inference (``training=False``)."""
    check_weights(cfg, "Dropout", weights, [])
    return Simple(cfg, _identity, "Dropout", text="identity at inference")


@register("Dense")
def dense(cfg, weights, ctx):
    """``Dense``: ``activation(x @ kernel + bias)``; kernel ``(F, units)``, bias ``(units,)``."""
    units, use_bias = int(cfg["units"]), bool(cfg.get("use_bias", True))
    expected = [("kernel", (None, units))] + ([("bias", (units,))] if use_bias else [])
    arrays = check_weights(cfg, "Dense", weights, expected)
    dtype, policy = layer_dtype(cfg), layer_policy(cfg)
    act, q = policy.activation(activation(cfg, "activation", ctx)), policy.round
    kernel = variable(cfg, arrays[0])
    bias = variable(cfg, arrays[1]) if use_bias else None

    def fn(x):  # each op's result in the compute dtype (q is a cast, or a rounding for float16/bfloat16)
        y = q(as_float(x, dtype) @ kernel)
        return q(act(y if bias is None else q(y + bias)))
    return Simple(cfg, fn, "Dense", arrays, text=f"units={units}, activation={cfg.get('activation')}")


@register("Activation")
def activation_layer(cfg, weights, ctx):
    check_weights(cfg, "Activation", weights, [])
    dtype, policy = layer_dtype(cfg), layer_policy(cfg)
    act, q = policy.activation(activation(cfg, "activation", ctx)), policy.round
    return Simple(cfg, lambda x: q(act(as_float(x, dtype))), "Activation", text=str(cfg.get("activation")))


@register("Flatten")
def flatten(cfg, weights, ctx):
    """``Flatten``: ``(B, ...) -> (B, prod(...))``; ``channels_first`` moves axis 1 last first."""
    check_weights(cfg, "Flatten", weights, [])
    channels_first = cfg.get("data_format") == "channels_first"

    def fn(x):
        if channels_first and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return x.reshape(x.shape[0], -1)
    return Simple(cfg, fn, "Flatten", supports_masking=False)


@register("Reshape")
def reshape(cfg, weights, ctx):
    check_weights(cfg, "Reshape", weights, [])
    target = tuple(int(d) for d in cfg["target_shape"])
    return Simple(cfg, lambda x: x.reshape((x.shape[0],) + target), "Reshape", supports_masking=False,
                  text=f"target_shape={target}")


@register("RepeatVector")
def repeat_vector(cfg, weights, ctx):
    check_weights(cfg, "RepeatVector", weights, [])
    n = int(cfg["n"])
    return Simple(cfg, lambda x: np.repeat(x[:, None], n, axis=1), "RepeatVector", supports_masking=False,
                  text=f"n={n}")


class Masking(Layer):
    """``Masking``: steps whose features all equal ``mask_value`` are zeroed and masked out."""

    def __init__(self, cfg, dtype):
        super().__init__(cfg, (), "Masking")
        self.mask_value, self.dtype = cfg.get("mask_value", 0.0), dtype

    def _keep(self, x):
        return np.any(as_float(x, self.dtype) != self.mask_value, axis=-1)

    def call(self, inputs, mask, kwargs):
        x = as_float(inputs, self.dtype)
        return x * self._keep(x)[..., None].astype(x.dtype)

    def compute_mask(self, inputs, mask):
        return self._keep(inputs)

    def describe(self):
        return f"mask_value={self.mask_value}"


@register("Masking")
def masking(cfg, weights, ctx):
    check_weights(cfg, "Masking", weights, [])
    return Masking(cfg, layer_dtype(cfg))


class Embedding(Layer):
    """``Embedding``: ``embeddings[ids]``; with ``mask_zero`` the mask is ``ids != 0`` (on the raw input)."""

    def __init__(self, cfg, embeddings):
        super().__init__(cfg, [embeddings], "Embedding")
        self.embeddings, self.mask_zero = embeddings, bool(cfg.get("mask_zero", False))
        self.supports_masking = self.mask_zero

    def call(self, inputs, mask, kwargs):
        ids = np.asarray(inputs)
        ids = ids.astype(np.int64) if ids.dtype.kind in "fb" else ids
        if ids.dtype.kind not in "iu" or ids.size and (ids.min() < 0 or ids.max() >= len(self.embeddings)):
            raise RefgruError(f"{where(self.config, 'Embedding')} input: expected integer ids in [0, "
                              f"{len(self.embeddings)}), got {describe(np.asarray(inputs))}")
        return self.embeddings[ids]

    def compute_mask(self, inputs, mask):
        return np.not_equal(inputs, 0) if self.mask_zero else None

    def describe(self):
        return f"{self.embeddings.shape[0]} ids -> {self.embeddings.shape[1]}, mask_zero={self.mask_zero}"


@register("Embedding")
def embedding(cfg, weights, ctx):
    """``Embedding``; Keras 2.0 saved ``dtype: "int32"``, its input's dtype: its embeddings are float32."""
    shape = (int(cfg["input_dim"]), int(cfg["output_dim"]))
    (table,) = check_weights(cfg, "Embedding", weights, [("embeddings", shape)])
    # the table is cast to the compute dtype, as Keras casts the lookup
    return Embedding(cfg, variable(policy_config("Embedding", cfg), table))


def _fold(op, xs):
    """``op(op(xs[0], xs[1]), xs[2])...``, left to right as Keras accumulates."""
    out = xs[0]
    for x in xs[1:]:
        out = op(out, x)
    return out


#: Element-wise merges of a list of same-shaped inputs.
MERGES = {
    "Add": lambda xs: _fold(np.add, xs),
    "Subtract": lambda xs: xs[0] - xs[1],
    "Multiply": lambda xs: _fold(np.multiply, xs),
    "Average": lambda xs: _fold(np.add, xs) / np.asarray(len(xs), xs[0].dtype),
    "Maximum": lambda xs: np.max(np.stack(xs), axis=0),
    "Minimum": lambda xs: np.min(np.stack(xs), axis=0),
}


def _merge_mask(masks, keras_version):
    """Merge masks: tf-keras ANDs the masks present; Keras 3 ORs them, and drops the mask if one is missing."""
    if not isinstance(masks, list) or all(m is None for m in masks):
        return None
    if keras_version == 2:
        return np.logical_and.reduce([m for m in masks if m is not None])
    return None if any(m is None for m in masks) else np.logical_or.reduce(masks)


class Merge(Layer):
    def __init__(self, cfg, class_name, fn, keras_version):
        super().__init__(cfg, (), class_name)
        self.fn, self.keras_version = fn, keras_version

    def call(self, inputs, mask, kwargs):
        if not isinstance(inputs, list) or len(inputs) < 2:
            raise RefgruError(f"{where(self.config, self.class_name)} inputs: expected a list of at least 2 tensors, "
                              f"got {describe(inputs)}")
        return self.fn([np.asarray(x) for x in inputs])

    def compute_mask(self, inputs, mask):
        return _merge_mask(mask, self.keras_version)


def _merge_builder(class_name):
    def builder(cfg, weights, ctx):
        check_weights(cfg, class_name, weights, [])
        return Merge(cfg, class_name, MERGES[class_name], ctx.keras_version)
    builder.__name__ = class_name.lower()
    return builder


for _name in MERGES:
    register(_name)(_merge_builder(_name))


class Concatenate(Merge):
    """``Concatenate(axis)``; its mask is all (tf-keras) or any (Keras 3) of the concatenated masks."""

    def compute_mask(self, inputs, mask):
        if not isinstance(mask, list) or all(m is None for m in mask):
            return None
        full = [np.ones(np.shape(x), bool) if m is None else (m[..., None] if m.ndim < np.ndim(x) else m)
                for x, m in zip(inputs, mask, strict=True)]
        joined = np.concatenate(full, axis=self.axis)
        return joined.all(axis=-1) if self.keras_version == 2 else joined.any(axis=-1)


@register("Concatenate")
def concatenate(cfg, weights, ctx):
    check_weights(cfg, "Concatenate", weights, [])
    axis = int(cfg.get("axis", -1))
    layer = Concatenate(cfg, "Concatenate", lambda xs: np.concatenate(xs, axis=axis), ctx.keras_version)
    layer.axis = axis
    return layer


class TimeDistributed(Layer):
    """``TimeDistributed(layer)``: the wrapped layer on each step, ``(B, T, ...) -> (B, T, ...)``."""

    def __init__(self, cfg, inner):
        super().__init__(cfg, inner.weights, "TimeDistributed")
        self.inner, self.sublayers = inner, [inner]

    def call(self, inputs, mask, kwargs):
        x = np.asarray(inputs)
        y = np.asarray(self.inner.call(x.reshape((-1,) + x.shape[2:]), None, {}))
        return y.reshape(x.shape[:2] + y.shape[1:])

    def describe(self):
        return f"{self.inner.class_name}: {self.inner.describe()}"


#: Layers that TimeDistributed may wrap: they act on each step alone and keep no state.
PER_STEP = ("Dense", "Activation", "Dropout", "GaussianNoise", "GaussianDropout")


@register("TimeDistributed", var_groups=("layer/vars",))
def time_distributed(cfg, weights, ctx):
    inner_class = cfg["layer"].get("class_name")
    if inner_class not in PER_STEP:
        raise RefgruError(f"{where(cfg, 'TimeDistributed')} layer: expected one of {', '.join(PER_STEP)}, "
                          f"got {inner_class!r}")
    return TimeDistributed(cfg, ctx.build(cfg["layer"], weights))
