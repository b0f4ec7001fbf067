"""Builders for ``Attention``, ``AdditiveAttention`` and ``MultiHeadAttention`` (inference: dropout is off).

Dense attention (``Attention``, ``AdditiveAttention``), both Keras versions, for ``[q, v(, k)]`` with
``k = v`` when absent: ``scores (B, Tq, Tv)``; ``scores - 1e9`` where the value mask (and the causal
mask of ``use_causal_mask``, or tf-keras's ``causal``) is False; ``w = softmax(scores)``; ``w @ v``,
zeroed where the query mask is False. The output mask is the query mask.

``MultiHeadAttention``: ``q = query @ W_q + b_q`` per head (einsum ``btf,fhd->bthd``), likewise ``k, v``;
``softmax(q.k / sqrt(key_dim))`` over the value axis with the mask ``query_mask[:, :, None] &
value_mask[:, None, :] & key_mask[:, None, :]`` (``& causal & attention_mask``), then the output
einsum ``bthd,hdo->bto``. Masked scores get, as each Keras does:

- Keras 3 without dropout or returned scores (``ops.dot_product_attention``): ``-0.7 * 3.38953e38``,
  so a fully masked row (a masked query step) averages every value;
- Keras 3 otherwise (its ``Softmax`` layer): ``-1e9``, and masked probabilities are then set to 0;
- tf-keras: ``+ (1 - mask) * -1e9`` (``softmax_robust_masking``: ``-1e9`` in place).

The output mask is the query's mask.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import RefgruError, describe
from .options import bool_key
from .registry import Layer, as_float, check_weights, layer_dtype, register, where


def _shown(value) -> str:
    """Short lists by value (``[2]``), anything else as :func:`describe` words it."""
    return repr(value) if isinstance(value, list) and len(repr(value)) <= 40 else describe(value)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _causal(tq: int, tv: int) -> np.ndarray:
    """``(1, Tq, Tv)``: query step ``i`` may attend to value steps ``j <= i``."""
    return np.tril(np.ones((1, tq, tv), bool))


def _and(a, b):
    return b if a is None else a if b is None else a & b



def _rate(cfg):
    value = cfg.get("dropout", 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise RefgruError(f"{where(cfg)} dropout: expected a number in [0, 1), got {describe(value)}")
    return float(value)


def _int(cfg, key, default=None):
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RefgruError(f"{where(cfg)} {key}: expected a positive int, got {describe(value)}")
    return value


def _array(layer, name, x, shape):
    """``x`` as an array of ``shape`` (``None`` matches any size), or a RefgruError naming the call argument."""
    x = np.asarray(x)
    if x.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape, strict=True)):
        wanted = ", ".join("?" if s is None else str(s) for s in shape)
        raise RefgruError(f"{where(layer.config, layer.class_name)} {name}: expected an array of shape ({wanted}), "
                          f"got {describe(x)}")
    return x


def _mask(layer, name, m, batch, steps):
    return None if m is None else _array(layer, name, m, (batch, steps)).astype(bool)


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
        q = _array(self, "query", as_float(inputs[0], self.dtype), (None, None, None))
        b, tq, dim = q.shape
        v = _array(self, "value", as_float(inputs[1], self.dtype), (b, None, None))
        k = _array(self, "key", as_float(inputs[2], self.dtype), (b, v.shape[1], dim)) if len(inputs) > 2 else v
        if k is v and v.shape[2] != dim:
            raise RefgruError(f"{where(self.config, self.class_name)} value: expected the query's size {dim} in the "
                              f"last axis (it is also the key), got {describe(v)}")
        if mask is not None and (not isinstance(mask, list) or len(mask) not in (2, 3)):
            raise RefgruError(f"{where(self.config, self.class_name)} mask: expected a list [query_mask, value_mask], "
                              f"got {describe(mask)}")
        q_mask = _mask(self, "query_mask", mask[0], b, tq) if mask else None
        v_mask = _mask(self, "value_mask", mask[1], b, v.shape[1]) if mask else None
        scores = self.score(q, k)
        keep = None if v_mask is None else v_mask[:, None, :]
        if self.causal or kwargs.get("use_causal_mask", False):
            keep = _and(keep, _causal(tq, v.shape[1]))
        if keep is not None:
            big = 65504.0 if scores.dtype == np.float16 else 1.0e9
            scores = np.where(keep, scores, scores - np.asarray(big, scores.dtype))
        weights = _softmax(scores)
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
    _rate(cfg)
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
    _rate(cfg)
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


#: ``call()`` arguments of MultiHeadAttention in order, per Keras version.
MHA_ARGS = {
    3: ("query", "value", "key", "query_mask", "value_mask", "key_mask", "attention_mask",
        "return_attention_scores", "training", "use_causal_mask"),
    2: ("query", "value", "key", "attention_mask", "return_attention_scores", "training", "use_causal_mask"),
}


class MultiHeadAttention(Layer):
    """``MultiHeadAttention`` over the time axis of ``(B, T, F)`` query, value and key."""

    def __init__(self, cfg, arrays, ctx, options):
        super().__init__(cfg, arrays, "MultiHeadAttention")
        self.keras_version = ctx.keras_version
        #: Keras 3's call sets the masks of its query, value and key tensors to None for later layers.
        self.clears_input_masks = ctx.keras_version == 3
        self.dtype = layer_dtype(cfg)
        self.heads, self.key_dim, self.out_shape, self.dropout, self.use_bias, self.robust, self.window = options
        w = [a.astype(self.dtype) for a in arrays]
        if not self.use_bias:
            w = [x for a in w for x in (a, None)]
        self.proj = {name: (w[2 * i], w[2 * i + 1]) for i, name in enumerate(("query", "key", "value", "output"))}

    def _bind(self, inputs, kwargs):
        """Keras's ``call`` arguments by name, and the masks of those that are tensors."""
        names, extra = MHA_ARGS[self.keras_version], dict(kwargs)
        arg_masks, kw_masks = extra.pop("input_masks", None) or ([None], {})
        args = [inputs] + list(extra.pop("args", []))
        bound = dict(zip(names, args, strict=False))
        masks = dict(zip(names, arg_masks, strict=False))
        for name, value in extra.items():
            if name not in names[1:] or name in bound:
                raise RefgruError(f"{where(self.config, self.class_name)} call arguments: expected "
                                  f"{', '.join(names[1:])} once each, got {name!r}")
            bound[name], masks[name] = value, kw_masks.get(name)
        if len(args) > len(names) or bound.get("value") is None:
            raise RefgruError(f"{where(self.config, self.class_name)} call arguments: expected query, value and "
                              f"an optional key, got {len(args)} positional arguments and {sorted(extra)}")
        return bound, masks

    def _keep(self, bound, masks, b, t, s):
        """The ``(B, T, S)`` bool mask of allowed scores, or None, as ``_compute_attention_mask`` builds it."""
        q_mask = _mask(self, "query mask", masks.get("query"), b, t)  # Keras 3 ignores query_mask=
        has_key = bound.get("key") is not None
        if self.keras_version == 3:
            v_mask = masks.get("value") if bound.get("value_mask") is None else bound["value_mask"]
            k_mask = (masks.get("key") if has_key else None) if bound.get("key_mask") is None else bound["key_mask"]
        else:
            v_mask = masks.get("value")
            k_mask = masks.get("key") if has_key else v_mask
        v_mask, k_mask = (_mask(self, n, m, b, s) for n, m in (("value mask", v_mask), ("key mask", k_mask)))
        keep = None if q_mask is None else q_mask[:, :, None]
        for m in (v_mask, k_mask):
            keep = _and(keep, None if m is None else m[:, None, :])
        if bound.get("use_causal_mask", False):
            keep = _and(keep, _causal(t, s))
        if self.window is not None:
            steps = np.arange(t)[:, None] - np.arange(s)[None, :]
            keep = _and(keep, (np.abs(steps) < self.window)[None])
        explicit = bound.get("attention_mask")
        if explicit is not None:
            explicit = np.asarray(explicit).astype(bool)
            if explicit.ndim != 3 or any(d not in (1, n) for d, n in zip(explicit.shape, (b, t, s), strict=True)):
                raise RefgruError(f"{where(self.config, self.class_name)} attention_mask: expected an array of "
                                  f"shape ({b}, {t}, {s}), got {describe(explicit)}")
            keep = _and(explicit, keep)
        return keep

    def _project(self, name, x):
        kernel, bias = self.proj[name]
        y = np.einsum("btf,f...->bt...", x, kernel)
        return y if bias is None else y + bias

    def call(self, inputs, mask, kwargs):
        bound, masks = self._bind(inputs, kwargs)
        query = _array(self, "query", as_float(bound["query"], self.dtype), (None, None, None))
        b, t, _ = query.shape
        value = _array(self, "value", as_float(bound["value"], self.dtype), (b, None, None))
        key = bound.get("key")
        key = value if key is None else _array(self, "key", as_float(key, self.dtype), (b, value.shape[1], None))
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.shape[2] != self.proj[name][0].shape[0]:
                raise RefgruError(f"{where(self.config, self.class_name)} {name}: expected "
                                  f"{self.proj[name][0].shape[0]} features (its kernel's), got {describe(x)}")
        keep = self._keep(bound, masks, b, t, value.shape[1])
        q, k, v = self._project("query", query), self._project("key", key), self._project("value", value)
        scale = 1.0 / math.sqrt(float(self.key_dim))  # Keras 3 casts it to the dtype from a float32 constant
        scale = np.asarray(np.float32(scale) if self.keras_version == 3 else scale, self.dtype)
        scores_out = bool(bound.get("return_attention_scores", False))
        fused = self.keras_version == 3 and not (self.dropout > 0 or scores_out)
        if fused:  # ops.dot_product_attention: scale the logits, fill masked ones
            scores = np.einsum("bthd,bshd->bhts", q, k) * scale
        else:
            scores = np.einsum("bshd,bthd->bhts", k, q * scale)
        keep = None if keep is None else keep[:, None]
        if keep is not None:
            if fused:
                scores = np.where(keep, scores, np.asarray(-0.7 * 3.38953e38, self.dtype))
            elif self.keras_version == 3 or self.robust:
                scores = np.where(keep, scores, np.asarray(-1e9, self.dtype))
            else:
                scores = scores + (1.0 - keep.astype(self.dtype)) * np.asarray(-1e9, self.dtype)
        probs = _softmax(scores)
        if keep is not None and self.keras_version == 3 and not fused:
            probs = np.where(keep, probs, np.asarray(0, self.dtype))
        heads = np.einsum("bhts,bshd->bthd", probs, v)
        kernel, bias = self.proj["output"]
        y = np.einsum("bthd,hd...->bt...", heads, kernel)
        y = y if bias is None else y + bias
        return [y, probs] if scores_out else y

    def compute_mask(self, inputs, mask):
        return mask

    def describe(self):
        return (f"num_heads={self.heads}, key_dim={self.key_dim}, output_shape={self.out_shape}, "
                f"use_bias={self.use_bias}")


def _output_shape(cfg):
    spec = cfg.get("output_shape")
    if spec is None or spec == []:
        return None
    spec = [spec] if isinstance(spec, int) and not isinstance(spec, bool) else spec
    if not isinstance(spec, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in spec):
        raise RefgruError(f"{where(cfg, 'MultiHeadAttention')} output_shape: expected null, a positive int or a "
                          f"list of them, got {_shown(spec)}")
    return tuple(spec)


#: Four einsum dense layers, in ``get_weights()`` order; Keras 3 and tf-keras ``.keras`` files name them apart.
_DENSES = ("query", "key", "value", "output")


@register("MultiHeadAttention", var_groups=tuple(f"{p}{d}_dense/vars" for d in _DENSES for p in ("", "_")))
def multi_head_attention(cfg, weights, ctx):
    """``MultiHeadAttention``; kernels ``(F, H, key_dim)`` (query, key), ``(F, H, value_dim)`` (value) and
    ``(H, value_dim, *output_shape)`` (output, ``output_shape`` defaulting to the query's features)."""
    heads, key_dim = _int(cfg, "num_heads"), _int(cfg, "key_dim")
    value_dim = key_dim if cfg.get("value_dim") is None else _int(cfg, "value_dim")
    use_bias, out_shape, dropout = bool_key(cfg, "use_bias", True), _output_shape(cfg), _rate(cfg)
    axes = cfg.get("attention_axes")
    time_axes = ([1], 1, [-2], -2) if ctx.keras_version == 3 else ([1], 1)
    if axes is not None and axes not in time_axes:
        raise RefgruError(f"{where(cfg, 'MultiHeadAttention')} attention_axes: expected null or [1] (attention "
                          f"over the time axis of (batch, time, features) inputs), got {_shown(axes)}")
    if bool_key(cfg, "use_gate", False):
        raise RefgruError(f"{where(cfg, 'MultiHeadAttention')} use_gate: expected false (gated attention is not "
                          "supported), got true")
    window = None if cfg.get("sliding_window") is None else _int(cfg, "sliding_window")
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
