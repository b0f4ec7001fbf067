"""``MultiHeadAttention`` (inference: dropout is off); its builder, registered, is in
:mod:`refgru.model.layers_attention`.

``q = query @ W_q + b_q`` per head (einsum ``btf,fhd->bthd``), likewise ``k, v``;
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
from .attention_rules import causal_mask, checked_array, checked_mask, mask_and, softmax
from .registry import Layer, as_float, layer_dtype, where

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
        q_mask = checked_mask(self, "query mask", masks.get("query"), b, t)  # Keras 3 ignores query_mask=
        has_key = bound.get("key") is not None
        if self.keras_version == 3:
            v_mask = masks.get("value") if bound.get("value_mask") is None else bound["value_mask"]
            k_mask = (masks.get("key") if has_key else None) if bound.get("key_mask") is None else bound["key_mask"]
        else:
            v_mask = masks.get("value")
            k_mask = masks.get("key") if has_key else v_mask
        v_mask, k_mask = (checked_mask(self, n, m, b, s) for n, m in (("value mask", v_mask), ("key mask", k_mask)))
        keep = None if q_mask is None else q_mask[:, :, None]
        for m in (v_mask, k_mask):
            keep = mask_and(keep, None if m is None else m[:, None, :])
        if bound.get("use_causal_mask", False):
            keep = mask_and(keep, causal_mask(t, s))
        if self.window is not None:
            steps = np.arange(t)[:, None] - np.arange(s)[None, :]
            keep = mask_and(keep, (np.abs(steps) < self.window)[None])
        explicit = bound.get("attention_mask")
        if explicit is not None:
            explicit = np.asarray(explicit).astype(bool)
            if explicit.ndim != 3 or any(d not in (1, n) for d, n in zip(explicit.shape, (b, t, s), strict=True)):
                raise RefgruError(f"{where(self.config, self.class_name)} attention_mask: expected an array of "
                                  f"shape ({b}, {t}, {s}), got {describe(explicit)}")
            keep = mask_and(explicit, keep)
        return keep

    def _project(self, name, x):
        kernel, bias = self.proj[name]
        y = np.einsum("btf,f...->bt...", x, kernel)
        return y if bias is None else y + bias

    def call(self, inputs, mask, kwargs):
        bound, masks = self._bind(inputs, kwargs)
        query = checked_array(self, "query", as_float(bound["query"], self.dtype), (None, None, None))
        b, t, _ = query.shape
        value = checked_array(self, "value", as_float(bound["value"], self.dtype), (b, None, None))
        key = bound.get("key")
        key = value if key is None else checked_array(self, "key", as_float(key, self.dtype), (b, value.shape[1], None))
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
        probs = softmax(scores)
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


__all__ = ["MHA_ARGS", "MultiHeadAttention"]
