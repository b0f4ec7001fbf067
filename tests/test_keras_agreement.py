"""Property tests: refgru.gru against keras.layers.GRU (Keras 3) and tf_keras.layers.GRU (Keras 2)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import MASK_KINDS, TOLERANCE, assert_close, make_mask, random_weights, relative_error
from keras_ref import keras_gru

import refgru
from refgru.activations import ACTIVATIONS

@st.composite
def gru_cases(draw, version: int, activations: bool = False):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    batch, steps = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    input_dim, units = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    reset_after, use_bias = draw(st.booleans()), draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64"]))
    names = sorted(ACTIVATIONS[version])
    config = {
        "reset_after": reset_after,
        "activation": draw(st.sampled_from(names)) if activations else "tanh",
        "recurrent_activation": draw(st.sampled_from(names)) if activations else draw(st.sampled_from(["sigmoid", "hard_sigmoid"])),
        "return_sequences": draw(st.booleans()),
        "return_state": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "zero_output_for_mask": draw(st.booleans()),
    }
    weights = random_weights(rng, input_dim, units, reset_after=reset_after, use_bias=use_bias, dtype=dtype)
    x = rng.normal(size=(batch, steps, input_dim)).astype(dtype)
    initial_state = rng.normal(size=(batch, units)).astype(dtype) if draw(st.booleans()) else None
    mask = make_mask(draw(st.sampled_from(MASK_KINDS)), rng, batch, steps)
    return weights, x, mask, initial_state, dtype, config


def check_against_keras(version, case):
    """refgru equals Keras to the dtype's tolerance.

    One exception, for float32 only: when the recurrence is expansive (e.g. ``exponential`` gates,
    where z > 1), float32 rounding grows step by step and two correct float32 implementations drift
    apart. Then refgru's float32 error must be of the same order as Keras's own float32 error
    (at most 4x), both measured against Keras run in float64 on the same numbers, which is the
    exact answer up to 1e-10.
    """
    weights, x, mask, initial_state, dtype, config = case
    expected = keras_gru(version, weights, x, mask=mask, initial_state=initial_state, dtype=dtype, **config)
    actual = refgru.gru(x, weights, mask=mask, initial_state=initial_state, keras_version=version, **config)
    name = f"Keras {version} GRU output {config}"
    if dtype == "float32" and not all_close(actual, expected):
        as64 = [w.astype("float64") for w in weights]
        h0 = None if initial_state is None else initial_state.astype("float64")
        exact = keras_gru(version, as64, x.astype("float64"), mask=mask, initial_state=h0, dtype="float64", **config)
        for ours, theirs, truth in zip(listify(actual), listify(expected), listify(exact)):
            keras_error, _ = relative_error(theirs, truth)
            our_error, where = relative_error(ours, truth)
            assert our_error <= max(4 * keras_error, TOLERANCE[np.dtype("float32")]), (
                f"{name}: refgru float32 is {our_error:.3g} from exact at {where}, Keras float32 only {keras_error:.3g}")
        return
    assert_close(name, actual, expected)


def listify(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def all_close(actual, expected) -> bool:
    return all(relative_error(a, e)[0] <= TOLERANCE[np.dtype(e.dtype)] for a, e in zip(listify(actual), listify(expected)))


@settings(max_examples=120)
@given(gru_cases(3))
def test_options_match_keras3(case):
    """Shapes from 1, both variants, no bias, every flag, initial states and every kind of mask."""
    check_against_keras(3, case)


@settings(max_examples=120)
@given(gru_cases(2))
def test_options_match_tf_keras(case):
    check_against_keras(2, case)


@settings(max_examples=120)
@given(gru_cases(3, activations=True))
def test_activations_match_keras3(case):
    """Every activation and recurrent activation Keras 3 resolves, in both positions."""
    check_against_keras(3, case)


@settings(max_examples=120)
@given(gru_cases(2, activations=True))
def test_activations_match_tf_keras(case):
    check_against_keras(2, case)
