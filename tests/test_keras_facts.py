"""Pins of shared/keras-facts.md: each asserts what real Keras does, and that refgru does the same."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close, random_weights
from keras_ref import LIBS, keras_gru

import refgru

VERSIONS = [3, 2]
rng = np.random.default_rng(11)
W = random_weights(rng, 2, 3, dtype="float64")
X = rng.normal(size=(2, 5, 2))
H0 = rng.normal(size=(2, 3))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("reset_after,use_bias,shapes", [
    (True, True, [(2, 9), (3, 9), (2, 9)]), (False, True, [(2, 9), (3, 9), (9,)]), (True, False, [(2, 9), (3, 9)])])
def test_get_weights_shapes(version, reset_after, use_bias, shapes):
    layer = LIBS[version].layers.GRU(3, reset_after=reset_after, use_bias=use_bias)
    layer.build((None, 5, 2))
    assert [w.shape for w in layer.get_weights()] == shapes


@pytest.mark.parametrize("version", VERSIONS)
def test_default_is_reset_after_true(version):
    assert LIBS[version].layers.GRU(3).reset_after is True


@pytest.mark.parametrize("version", VERSIONS)
def test_masked_step_repeats_previous_output_and_starts_at_zero(version):
    """Masked steps carry the state; their output repeats the previous output, zeros before the first unmasked step."""
    mask = np.array([[False, True, False, False, True], [True, True, True, True, True]])
    seq, state = keras_gru(version, W, X, mask=mask, initial_state=H0, dtype="float64", return_sequences=True, return_state=True)
    assert np.all(seq[0, 0] == 0)
    assert np.all(seq[0, 2] == seq[0, 1]) and np.all(seq[0, 3] == seq[0, 1])
    assert_close("refgru", refgru.gru(X, W, mask=mask, initial_state=H0, return_sequences=True, return_state=True, keras_version=version), [seq, state] if version == 2 else (seq, state))


@pytest.mark.parametrize("version", VERSIONS)
def test_fully_masked_row_outputs_zero_but_returns_initial_state(version):
    mask = np.array([[False] * 5, [True] * 5])
    out, state = keras_gru(version, W, X, mask=mask, initial_state=H0, dtype="float64", return_state=True)
    assert np.all(out[0] == 0) and np.allclose(state[0], H0[0])
    assert np.allclose(out[1], state[1])
    ours = refgru.gru(X, W, mask=mask, initial_state=H0, return_state=True, keras_version=version)
    assert_close("refgru", ours, [out, state] if version == 2 else (out, state))


@pytest.mark.parametrize("version", VERSIONS)
def test_zero_output_for_mask(version):
    """Masked steps output zeros; with return_sequences=False a masked last step gives 0 while the state is carried."""
    mask = np.array([[True, False, True, True, False], [True] * 5])
    seq = keras_gru(version, W, X, mask=mask, dtype="float64", return_sequences=True, zero_output_for_mask=True)
    assert np.all(seq[0, 1] == 0) and np.all(seq[0, 4] == 0)
    out, state = keras_gru(version, W, X, mask=mask, dtype="float64", return_state=True, zero_output_for_mask=True)
    assert np.all(out[0] == 0) and np.abs(state[0]).max() > 0
    assert_close("refgru seq", refgru.gru(X, W, mask=mask, return_sequences=True, zero_output_for_mask=True, keras_version=version), seq)


@pytest.mark.parametrize("version", VERSIONS)
def test_go_backwards_outputs_in_processing_order(version):
    """out[:, t] belongs to input step T-1-t (not re-reversed); the final state is the one after x[:, 0]."""
    back = keras_gru(version, W, X, dtype="float64", return_sequences=True, go_backwards=True)
    fwd_on_reversed = keras_gru(version, W, X[:, ::-1].copy(), dtype="float64", return_sequences=True)
    np.testing.assert_allclose(back, fwd_on_reversed, atol=1e-12)
    assert_close("refgru", refgru.gru(X, W, return_sequences=True, go_backwards=True), back)


@pytest.mark.parametrize("version,container", [(3, tuple), (2, list)])
def test_return_state_container(version, container):
    result = keras_gru(version, W, X, dtype="float64", return_state=True)
    assert type(result) is container
    assert type(refgru.gru(X, W, return_state=True, keras_version=version)) is container


@pytest.mark.parametrize("version", VERSIONS)
def test_float64_layers_compute_in_float64(version):
    out = keras_gru(version, W, X, dtype="float64")
    assert out.dtype == np.float64
    assert np.abs(refgru.gru(X, W, keras_version=version) - out).max() <= 2e-15


@pytest.mark.parametrize("version", VERSIONS)
def test_initial_state_as_one_element_list(version):
    expected = keras_gru(version, W, X, initial_state=H0, dtype="float64")
    assert_close("list", refgru.gru(X, W, initial_state=[H0], keras_version=version), expected)
    assert_close("array", refgru.gru(X, W, initial_state=H0, keras_version=version), expected)


def test_hard_sigmoid_gru_outputs_differ_between_versions():
    """With hard_sigmoid gates the two Keras versions give different GRU outputs (> 1e-2 at moderate weights)."""
    w = random_weights(np.random.default_rng(2), 2, 3, dtype="float64", scale=2.0)
    x = np.random.default_rng(3).normal(size=(2, 5, 2)) * 2
    k3 = keras_gru(3, w, x, dtype="float64", recurrent_activation="hard_sigmoid", activation="hard_sigmoid")
    k2 = keras_gru(2, w, x, dtype="float64", recurrent_activation="hard_sigmoid", activation="hard_sigmoid")
    assert np.abs(k3 - k2).max() > 1e-2
    assert_close("K3", refgru.gru(x, w, recurrent_activation="hard_sigmoid", activation="hard_sigmoid", keras_version=3), k3)
    assert_close("K2", refgru.gru(x, w, recurrent_activation="hard_sigmoid", activation="hard_sigmoid", keras_version=2), k2)
