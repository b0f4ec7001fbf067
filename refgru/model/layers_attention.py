"""Builders for ``Attention``, ``AdditiveAttention`` and ``MultiHeadAttention`` (inference: dropout is off).

Dense attention (``Attention``, ``AdditiveAttention``), both Keras versions, for ``[q, v(, k)]`` with
``k = v`` when absent: ``scores (B, Tq, Tv)``; ``scores - 1e9`` where the value mask (and the causal
mask of ``use_causal_mask``, or tf-keras's ``causal``) is False; ``w = softmax(scores)``; ``w @ v``,
zeroed where the query mask is False. The output mask is the query mask.

``MultiHeadAttention`` and its masking rules per Keras version are in :mod:`refgru.model.attention_mha`;
its builder (config and weight checks) is registered here. The rules all three share (config checks,
masks, softmax) are in :mod:`refgru.model.attention_rules`.
"""

from __future__ import annotations

import numpy as np

from ..errors import RefgruError, describe
from .attention_mha import MultiHeadAttention
from .attention_rules import (
    causal_mask,
    checked_array,
    checked_mask,
    dropout_rate,
    mask_and,
    positive_int,
    shown,
    softmax,
)
from .options import bool_key
from .registry import Layer, as_float, check_weights, layer_dtype, register, where


class DenseAttention(Layer):
    """``Attention`` and ``AdditiveAttention``: ``score(q, k)`` then the shared masked softmax."""

    def __init__(self, cfg, arrays, class_name, score, ctx, causal):
        super().__init__(cfg, arrays, class_name)
        self.score, self.keras_version, self.causal = score, ctx.keras_version, causal
        self.dtype = layer_dtype(cfg)

    def call(self, inputs, mask, kwargs):
        unknown = set(kwargs) - {"return_attention_scores", "use_causal_mask", "input_masks"}
        if unknown:
            raise RefgruError(f"{where(self.config, self.class_name)} call arguments: expected "
                              f"return_attention_scores or use_causal_mask, got {sorted(unknown)}")
        if not isinstance(inputs, list) or len(inputs) not in (2, 3):
            raise RefgruError(f"{where(self.config, self.class_name)} inputs: expected a list [query, value] or "
                              f"[query, value, key], got {describe(inputs)}")
        q = checked_array(self, "query", as_float(inputs[0], self.dtype), (None, None, None))
        b, tq, dim = q.shape
        v = checked_array(self, "value", as_float(inputs[1], self.dtype), (b, None, None))
        k = checked_array(self, "key", as_float(inputs[2], self.dtype), (b, v.shape[1], dim)) if len(inputs) > 2 else v
        if k is v and v.shape[2] != dim:
            raise RefgruError(f"{where(self.config, self.class_name)} value: expected the query's size {dim} in the "
                              f"last axis (it is also the key), got {describe(v)}")
        if mask is not None and (not isinstance(mask, list) or len(mask) not in (2, 3)):
            raise RefgruError(f"{where(self.config, self.class_name)} mask: expected a list [query_mask, value_mask], "
                              f"got {describe(mask)}")
        q_mask = checked_mask(self, "query_mask", mask[0], b, tq) if mask else None
        v_mask = checked_mask(self, "value_mask", mask[1], b, v.shape[1]) if mask else None
        scores = self.score(q, k)
        keep = None if v_mask is None else v_mask[:, None, :]
        if self.causal or kwargs.get("use_causal_mask", False):
            keep = mask_and(keep, causal_mask(tq, v.shape[1]))
        if keep is not None:
            big = 65504.0 if scores.dtype == np.float16 else 1.0e9
            scores = np.where(keep, scores, scores - np.asarray(big, scores.dtype))
        weights = softmax(scores)
        out = weights @ v
        if q_mask is not None:  # Keras 3 selects zeros, tf-keras multiplies by the mask
            out = np.where(q_mask[..., None], out, 0) if self.keras_version == 3 else out * q_mask[..., None]
        return [out, weights] if kwargs.get("return_attention_scores", False) else out

    def compute_mask(self, inputs, mask):
        return mask[0] if isinstance(mask, list) and mask else None

    def describe(self):
        return ", ".join(f"{k}={self.config[k]}" for k in ("use_scale", "score_mode") if k in self.config)


def _causal_option(cfg, ctx, class_name):
    """tf-keras's deprecated ``causal`` constructor argument; Keras 3 refuses it."""
    if "causal" in cfg and ctx.keras_version == 3:
        raise RefgruError(f"{where(cfg, class_name)} causal: expected no such key in a Keras 3 config "
                          "(use_causal_mask is a call argument), got one")
    return bool_key(cfg, "causal", False)


@register("Attention")
def attention(cfg, weights, ctx):
    """``Attention``: dot ``q @ k.T * scale`` or concat ``c * sum(tanh(scale * (q + k)))``."""
    mode, use_scale = cfg.get("score_mode", "dot"), bool_key(cfg, "use_scale", False)
    if mode not in ("dot", "concat"):
        raise RefgruError(f"{where(cfg, 'Attention')} score_mode: expected 'dot' or 'concat', got {describe(mode)}")
    dropout_rate(cfg)
    causal = _causal_option(cfg, ctx, "Attention")
    expected = [("scale", ())] * use_scale + [("concat_score_weight", ())] * (mode == "concat")
    arrays = check_weights(cfg, "Attention", weights, expected)
    dtype = layer_dtype(cfg)
    scale = arrays[0].astype(dtype) if use_scale else None
    weight = arrays[-1].astype(dtype) if mode == "concat" else None

    def score(q, k):
        if mode == "dot":
            s = q @ np.swapaxes(k, -1, -2)
            return s if scale is None else s * scale
        summed = q[:, :, None, :] + k[:, None, :, :]
        return weight * np.tanh(summed if scale is None else scale * summed).sum(axis=-1)
    return DenseAttention(cfg, arrays, "Attention", score, ctx, causal)


@register("AdditiveAttention")
def additive_attention(cfg, weights, ctx):
    """``AdditiveAttention``: ``sum(scale * tanh(q + k))`` over features (Bahdanau-style)."""
    use_scale = bool_key(cfg, "use_scale", True)
    dropout_rate(cfg)
    causal = _causal_option(cfg, ctx, "AdditiveAttention")
    arrays = check_weights(cfg, "AdditiveAttention", weights, [("scale", (None,))] * use_scale)
    scale = arrays[0].astype(layer_dtype(cfg)) if use_scale else None

    def score(q, k):
        if scale is not None and scale.shape[0] != q.shape[-1]:
            raise RefgruError(f"{where(cfg, 'AdditiveAttention')} query: expected {scale.shape[0]} features (the "
                              f"size of scale), got {describe(q)}")
        t = np.tanh(q[:, :, None, :] + k[:, None, :, :])
        return (t if scale is None else scale * t).sum(axis=-1)
    return DenseAttention(cfg, arrays, "AdditiveAttention", score, ctx, causal)


def _output_shape(cfg):
    spec = cfg.get("output_shape")
    if spec is None or spec == []:
        return None
    spec = [spec] if isinstance(spec, int) and not isinstance(spec, bool) else spec
    if not isinstance(spec, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in spec):
        raise RefgruError(f"{where(cfg, 'MultiHeadAttention')} output_shape: expected null, a positive int or a "
                          f"list of them, got {shown(spec)}")
    return tuple(spec)


#: Four einsum dense layers, in ``get_weights()`` order; Keras 3 and tf-keras ``.keras`` files name them apart.
_DENSES = ("query", "key", "value", "output")


@register("MultiHeadAttention", var_groups=tuple(f"{p}{d}_dense/vars" for d in _DENSES for p in ("", "_")))
def multi_head_attention(cfg, weights, ctx):
    """``MultiHeadAttention``; kernels ``(F, H, key_dim)`` (query, key), ``(F, H, value_dim)`` (value) and
    ``(H, value_dim, *output_shape)`` (output, ``output_shape`` defaulting to the query's features)."""
    heads, key_dim = positive_int(cfg, "num_heads"), positive_int(cfg, "key_dim")
    value_dim = key_dim if cfg.get("value_dim") is None else positive_int(cfg, "value_dim")
    use_bias, out_shape, dropout = bool_key(cfg, "use_bias", True), _output_shape(cfg), dropout_rate(cfg)
    axes = cfg.get("attention_axes")
    time_axes = ([1], 1, [-2], -2) if ctx.keras_version == 3 else ([1], 1)
    if axes is not None and axes not in time_axes:
        raise RefgruError(f"{where(cfg, 'MultiHeadAttention')} attention_axes: expected null or [1] (attention "
                          f"over the time axis of (batch, time, features) inputs), got {shown(axes)}")
    if bool_key(cfg, "use_gate", False):
        raise RefgruError(f"{where(cfg, 'MultiHeadAttention')} use_gate: expected false (gated attention is not "
                          "supported), got true")
    window = None if cfg.get("sliding_window") is None else positive_int(cfg, "sliding_window")
    robust = bool_key(cfg, "softmax_robust_masking", False)

    def expected(features, out):
        shapes = [(features[0], heads, key_dim), (features[1], heads, key_dim), (features[2], heads, value_dim),
                  (heads, value_dim) + out]
        biases = [(heads, key_dim), (heads, key_dim), (heads, value_dim), out]
        return [(f"{d} {part}", s) for d, k, b in zip(_DENSES, shapes, biases, strict=True)
                for part, s in (("kernel", k), ("bias", b))[:1 + use_bias]]
    arrays = check_weights(cfg, "MultiHeadAttention", weights, expected((None,) * 3, out_shape or (None,)))
    features = tuple(arrays[i * (1 + use_bias)].shape[0] for i in range(3))
    arrays = check_weights(cfg, "MultiHeadAttention", arrays, expected(features, out_shape or features[:1]))
    return MultiHeadAttention(cfg, arrays, ctx, (heads, key_dim, out_shape, dropout, use_bias, robust, window))
