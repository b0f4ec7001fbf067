"""Attention models for the ``load_model`` tests, built in Keras 3 and in tf-keras (``model_zoo`` style).

Each builder takes ``(lib, rng)`` and returns ``(model, steps)``; every weight is random and non-zero.
The inputs mask leading, trailing and middle steps and a whole row, so every mask rule shows.
"""

from __future__ import annotations

from model_zoo import ids, masked_input, randomize

B, T, F = 4, 5, 3


def _masked(rng, steps=T):
    x = masked_input(rng, B, steps, F)
    x[3, 2:] = 0.0  # row 2 is fully masked; row 3 keeps two steps
    return x


def gru_attention(lib, rng):
    """GRU(return_sequences) -> Attention([q, v]) -> GlobalAveragePooling1D -> Dense, plus variants:
    concat scores with scale, a key input, ``use_causal_mask``, dropout and the returned scores;
    another GRU after attention shows the passed-on query mask."""
    L = lib.layers
    inp = lib.Input((T, F))
    m = L.Masking()(inp)
    q, v = L.GRU(4, return_sequences=True)(m), L.GRU(4, return_sequences=True)(m)
    pooled = L.GlobalAveragePooling1D()(L.Attention(use_scale=True)([q, v]))
    concat = L.Attention(score_mode="concat", use_scale=True, dropout=0.3)([q, v, q], use_causal_mask=True)
    out, scores = L.Attention()([v, q], return_attention_scores=True)
    outputs = [L.Dense(2, activation="softmax")(pooled), L.GRU(3)(concat), out, scores,
               L.Attention(score_mode="concat")([q, v])]
    return randomize(lib.Model(inp, outputs), rng), [("predict", _masked(rng))]


def gru_mha_text(lib, rng):
    """Embedding(mask_zero) -> GRU -> MultiHeadAttention self-attention -> pooling -> Dense, with a residual
    Add, and more attention on the same GRU output (Keras 3's MultiHeadAttention call drops the masks of
    its input tensors, so later layers that read them implicitly see none);
    value_dim/output_shape/no bias with a causal mask; dropout with returned scores and Keras 3's
    sliding_window or tf-keras's softmax_robust_masking."""
    L = lib.layers
    inp = lib.Input((6,), dtype="int32")
    e = L.Embedding(10, 5, mask_zero=True)(inp)
    g = L.GRU(4, return_sequences=True)(e)
    att = L.MultiHeadAttention(num_heads=2, key_dim=3)(g, g)
    label = L.Dense(3, activation="softmax")(L.GlobalAveragePooling1D()(att))
    residual = L.GRU(2)(L.Add()([g, att]))  # the Add's mask is recorded in Keras 3's config: unaffected
    # Keras 3 runs the calls farthest from the outputs first: the Attention still sees g's mask, the second
    # MultiHeadAttention (after the first) does not
    again = [L.MultiHeadAttention(1, 2)(g, g), L.Dense(2)(L.Attention()([g, g]))]
    d1, d2 = L.Dense(3, activation="tanh")(e), L.Dense(3, activation="tanh")(e)
    causal = L.MultiHeadAttention(3, 2, value_dim=4, output_shape=5, use_bias=False)(d1, d1, use_causal_mask=True)
    version_option = {"sliding_window": 2} if lib.__name__ == "keras" else {"softmax_robust_masking": True}
    drop, scores = L.MultiHeadAttention(1, 2, dropout=0.2, **version_option)(d2, d2, return_attention_scores=True)
    model = lib.Model(inp, [label, residual, L.GRU(2)(causal), drop, scores, *again])
    return randomize(model, rng), [("predict", ids(rng, B, 6))]


def cross_attention(lib, rng):
    """Two differently masked sequences of different lengths: MultiHeadAttention with a key and an
    attention_mask input (on inputs of its own, as Keras 3 drops their masks for later layers),
    AdditiveAttention with and without scale, and Attention with query != value length."""
    L = lib.layers
    a, b, allowed = lib.Input((T, F)), lib.Input((4, 2)), lib.Input((T, 4), dtype="bool")
    qa = L.GRU(4, return_sequences=True)(L.Masking()(a))
    vb = L.GRU(3, return_sequences=True)(L.Masking()(b))
    kb = L.Dense(4)(vb)
    outputs = [
        L.MultiHeadAttention(2, 3, output_shape=(2, 3))(L.Dense(4)(qa), L.Dense(3)(vb), L.Dense(2)(kb),
                                                        attention_mask=allowed),
        L.GlobalAveragePooling1D()(L.AdditiveAttention()([qa, kb])),
        L.AdditiveAttention(use_scale=False)([qa, vb, kb]),
        L.GRU(2)(L.Attention(use_scale=True)([qa, vb, kb])),
    ]
    xb = _masked(rng, 4)[..., :2]
    xb[1] = rng.normal(size=(4, 2))
    x = [_masked(rng), xb, rng.random((B, T, 4)) > 0.3]
    return randomize(lib.Model([a, b, allowed], outputs), rng), [("predict", x)]


def attention_float64(lib, rng):
    L = lib.layers
    inp = lib.Input((T, F), dtype="float64")
    g = L.GRU(4, return_sequences=True, dtype="float64")(L.Masking(dtype="float64")(inp))
    h1, h2 = L.Dense(4, dtype="float64")(g), L.Dense(4, dtype="float64")(g)
    robust = {} if lib.__name__ == "keras" else {"softmax_robust_masking": True}  # it shows in float64 only
    outputs = [
        L.MultiHeadAttention(2, 2, dtype="float64")(h1, h1),
        *L.MultiHeadAttention(2, 3, dtype="float64", **robust)(h2, h2, return_attention_scores=True),
        L.Attention(use_scale=True, dtype="float64")([g, g]),
        L.AdditiveAttention(dtype="float64")([g, g]),
    ]
    return randomize(lib.Model(inp, outputs), rng), [("predict", _masked(rng).astype("float64"))]


ZOO = {
    "gru_attention": gru_attention,
    "gru_mha_text": gru_mha_text,
    "cross_attention": cross_attention,
    "attention_float64": attention_float64,
}
