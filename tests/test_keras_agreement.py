"""Property tests: refgru.gru against keras.layers.GRU (Keras 3) and tf_keras.layers.GRU (Keras 2)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from helpers import assert_close, random_weights
from keras_ref import keras_gru

import refgru
from refgru.activations import ACTIVATIONS

MASK_KINDS = ["none", "random", "leading", "trailing", "full_row", "gaps"]


def make_mask(kind: str, rng: np.random.Generator, batch: int, steps: int) -> np.ndarray | None:
    """Masks with gaps, leading or trailing masked steps, and fully masked rows."""
    if kind == "none":
        return None
    mask = np.ones((batch, steps), bool)
    if kind == "random":
        mask = rng.random((batch, steps)) > 0.4
    elif kind == "leading":
        mask[:, : rng.integers(1, steps + 1)] = False
    elif kind == "trailing":
        mask[:, steps - rng.integers(1, steps + 1):] = False
    elif kind == "full_row":
        mask = rng.random((batch, steps)) > 0.3
        mask[rng.integers(batch)] = False
    elif kind == "gaps":
        mask[:, 1::2] = False
    return mask


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
    weights, x, mask, initial_state, dtype, config = case
    expected = keras_gru(version, weights, x, mask=mask, initial_state=initial_state, dtype=dtype, **config)
    actual = refgru.gru(x, weights, mask=mask, initial_state=initial_state, keras_version=version, **config)
    assert_close(f"Keras {version} GRU output {config}", actual, expected)


@given(gru_cases(3))
def test_options_match_keras3(case):
    """Shapes from 1, both variants, no bias, every flag, initial states and every kind of mask."""
    check_against_keras(3, case)


@given(gru_cases(2))
def test_options_match_tf_keras(case):
    check_against_keras(2, case)


@given(gru_cases(3, activations=True))
def test_activations_match_keras3(case):
    """Every activation and recurrent activation Keras 3 resolves, in both positions."""
    check_against_keras(3, case)


@given(gru_cases(2, activations=True))
def test_activations_match_tf_keras(case):
    check_against_keras(2, case)
