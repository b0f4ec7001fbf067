"""The seed question's model against Keras, and invariants that need no Keras."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, random_weights
from hypothesis import given
from hypothesis import strategies as st

import refgru
from refgru import seed


@pytest.mark.parametrize("version", [3, 2])
def test_seed_question_model_matches_keras(version):
    """GRU(units=2, input_shape=(3,1), activation='linear') + Dense(1): the question's arrays, a zero (2, 6) bias."""
    from keras_ref import LIBS

    lib = LIBS[version]
    model = lib.Sequential(
        [
            lib.layers.Input((3, 1)),
            lib.layers.GRU(units=2, activation="linear"),
            lib.layers.Dense(units=1, activation="linear"),
        ]
    )
    assert [w.shape for w in model.layers[0].get_weights()] == [(1, 6), (2, 6), (2, 6)]
    model.layers[0].set_weights(seed.WEIGHTS)
    model.layers[1].set_weights([seed.DENSE_KERNEL, seed.DENSE_BIAS])
    expected_h = np.asarray(model.layers[0](seed.X))
    expected_y = np.asarray(model(seed.X))
    h = refgru.gru(seed.X, seed.WEIGHTS, keras_version=version, **seed.CONFIG)
    assert_close("seed GRU output", h, expected_h)
    assert_close("seed Dense output", h @ seed.DENSE_KERNEL + seed.DENSE_BIAS, expected_y)
    assert refgru.GRUWeights.from_keras(seed.WEIGHTS).reset_after is True


@st.composite
def cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b, t, f, u = (draw(st.integers(1, 4)) for _ in range(4))
    reset_after, use_bias = draw(st.booleans()), draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64"]))
    weights = random_weights(rng, f, u, reset_after=reset_after, use_bias=use_bias, dtype=dtype)
    return rng, weights, rng.normal(size=(b, t, f)).astype(dtype)


@given(cases())
def test_batch_rows_are_independent(case):
    """Each batch row computed alone equals that row of the batched run."""
    rng, weights, x = case
    mask = rng.random(x.shape[:2]) > 0.3
    full = refgru.gru(x, weights, mask=mask, return_sequences=True)
    for i in range(x.shape[0]):
        np.testing.assert_allclose(
            refgru.gru(x[i : i + 1], weights, mask=mask[i : i + 1], return_sequences=True),
            full[i : i + 1],
            rtol=1e-6,
            atol=1e-6,
        )


@given(cases())
def test_last_output_equals_state_without_mask(case):
    _, weights, x = case
    seq, state = refgru.gru(x, weights, return_sequences=True, return_state=True)
    last = refgru.gru(x, weights)
    np.testing.assert_array_equal(seq[:, -1], state)
    np.testing.assert_array_equal(last, state)
    assert seq.dtype == state.dtype == x.dtype


@given(cases())
def test_go_backwards_is_reversal(case):
    """go_backwards equals running forward on the time-reversed input (and mask), outputs in processing order."""
    rng, weights, x = case
    mask = rng.random(x.shape[:2]) > 0.3
    back = refgru.gru(x, weights, mask=mask, go_backwards=True, return_sequences=True, return_state=True)
    fwd = refgru.gru(x[:, ::-1], weights, mask=mask[:, ::-1], return_sequences=True, return_state=True)
    np.testing.assert_array_equal(back[0], fwd[0])
    np.testing.assert_array_equal(back[1], fwd[1])


@given(cases())
def test_gru_step_drives_gru(case):
    """Looping gru_step by hand gives gru's output; its gates satisfy h = z * h_tm1 + (1 - z) * hh."""
    _, weights, x = case
    w = refgru.GRUWeights.from_keras(weights)
    h = np.zeros((x.shape[0], w.units), x.dtype)
    for t in range(x.shape[1]):
        step = refgru.gru_step(x[:, t], h, w, return_gates=True)
        np.testing.assert_allclose(step.h, step.z * h + (1 - step.z) * step.hh, rtol=1e-6, atol=1e-6)
        h = step.h
    np.testing.assert_allclose(h, refgru.gru(x, w), rtol=1e-6, atol=1e-6)


@given(cases())
def test_weights_round_trip_bit_identical(case):
    _, weights, _ = case
    back = refgru.GRUWeights.from_keras(weights).to_keras()
    assert len(back) == len(weights)
    for a, b in zip(back, weights, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def test_dtypes():
    """float32 stays float32, float64 stays float64, integer input takes the weights' dtype."""
    rng = np.random.default_rng(0)
    w32 = random_weights(rng, 2, 3, dtype="float32")
    assert refgru.gru(rng.normal(size=(1, 2, 2)).astype("float32"), w32).dtype == np.float32
    assert refgru.gru(rng.normal(size=(1, 2, 2)), w32).dtype == np.float64
    assert refgru.gru(np.ones((1, 2, 2), int), w32).dtype == np.float32
    x = np.arange(4).reshape(1, 2, 2)
    np.testing.assert_array_equal(refgru.gru(x, w32), refgru.gru(x.astype("float32"), w32))
