"""Pins of shared/keras-facts.md: each asserts what real Keras does and, where refgru has a say, that refgru does
the same. Facts about Keras internals (private helpers, CuDNN layers) live here and nowhere else."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ACTIVATION_NAMES, assert_close, random_weights

import refgru

pytest.importorskip("keras_ref")  # every test in this module runs Keras: without it the module skips

VERSIONS = [3, 2]
rng = np.random.default_rng(11)
W = random_weights(rng, 2, 3, dtype="float64")
X = rng.normal(size=(2, 5, 2))
H0 = rng.normal(size=(2, 3))


@pytest.fixture(scope="module")
def keras_gru(keras_ref):
    return keras_ref.keras_gru


@pytest.fixture(scope="module")
def LIBS(keras_ref):  # noqa: N802
    return keras_ref.LIBS


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("reset_after,use_bias,shapes", [
    (True, True, [(2, 9), (3, 9), (2, 9)]), (False, True, [(2, 9), (3, 9), (9,)]), (True, False, [(2, 9), (3, 9)])])
def test_get_weights_shapes(LIBS, version, reset_after, use_bias, shapes):  # noqa: N803
    """The shapes of get_weights(); refgru reads the same variant and bias from them."""
    layer = LIBS[version].layers.GRU(3, reset_after=reset_after, use_bias=use_bias)
    layer.build((None, 5, 2))
    assert [w.shape for w in layer.get_weights()] == shapes
    w = refgru.GRUWeights.from_keras(layer.get_weights())
    assert w.use_bias is use_bias and (not use_bias or w.reset_after is reset_after)


@pytest.mark.parametrize("version", VERSIONS)
def test_default_is_reset_after_true(LIBS, keras_ref, version):  # noqa: N803
    """A default GRU is reset_after=True; refgru given only its weights (no options) computes its output."""
    layer = LIBS[version].layers.GRU(3, bias_initializer="random_normal", dtype="float64")
    assert layer.reset_after is True
    out = np.asarray(layer(keras_ref.tf.constant(X)))
    assert_close("refgru with defaults", refgru.gru(X, layer.get_weights(), keras_version=version), out)


def test_every_activation_name_resolves_and_keras3_only_names_are_refused_by_tf_keras(LIBS):  # noqa: N803
    """helpers.ACTIVATION_NAMES is what each version resolves; tf-keras refuses the Keras-3-only names."""
    for version in VERSIONS:
        for name in ACTIVATION_NAMES[version]:
            assert callable(LIBS[version].activations.get(name)), (version, name)
    only3 = sorted(set(ACTIVATION_NAMES[3]) - set(ACTIVATION_NAMES[2]))
    assert "celu" in only3 and "hard_silu" in only3
    for name in only3:
        with pytest.raises(ValueError):
            LIBS[2].activations.get(name)


def test_cudnn_eligibility_needs_reset_after(LIBS):  # noqa: N803
    """Keras 3's and tf-keras's cuDNN eligibility rules reject reset_after=False and nothing else here."""
    from keras.src import activations
    from keras.src.backend.tensorflow.rnn import _do_gru_arguments_support_cudnn

    def rule(reset_after: bool) -> bool:
        return bool(_do_gru_arguments_support_cudnn(activations.tanh, activations.sigmoid, unroll=False,
                                                    use_bias=True, reset_after=reset_after))

    assert rule(True) and not rule(False)
    assert LIBS[2].layers.GRU(2, reset_after=True)._could_use_gpu_kernel
    assert not LIBS[2].layers.GRU(2, reset_after=False)._could_use_gpu_kernel


def test_cudnn_gru_bias_is_one_flat_vector(LIBS):  # noqa: N803
    """tf-keras's CuDNNGRU keeps the input and recurrent biases in one (6u,) vector, unlike GRU's (2, 3u)."""
    from tf_keras.api._v1.keras import layers as tf1_layers

    layer = tf1_layers.CuDNNGRU(2)
    layer.build((None, 3, 1))
    assert [w.shape for w in layer.get_weights()] == [(1, 6), (2, 6), (12,)]
    gru = LIBS[3].layers.GRU(2)
    gru.build((None, 3, 1))
    assert gru.get_weights()[2].shape == (2, 6)


@pytest.mark.parametrize("version", VERSIONS)
def test_masked_step_repeats_previous_output_and_starts_at_zero(keras_gru, version):
    """Masked steps carry the state; their output repeats the previous output, zeros before the first unmasked step."""
    mask = np.array([[False, True, False, False, True], [True, True, True, True, True]])
    options = dict(mask=mask, initial_state=H0, return_sequences=True, return_state=True)
    seq, state = keras_gru(version, W, X, dtype="float64", **options)
    assert np.all(seq[0, 0] == 0)
    assert np.all(seq[0, 2] == seq[0, 1]) and np.all(seq[0, 3] == seq[0, 1])
    expected = [seq, state] if version == 2 else (seq, state)
    assert_close("refgru", refgru.gru(X, W, keras_version=version, **options), expected)


@pytest.mark.parametrize("version", VERSIONS)
def test_fully_masked_row_outputs_zero_but_returns_initial_state(keras_gru, version):
    mask = np.array([[False] * 5, [True] * 5])
    out, state = keras_gru(version, W, X, mask=mask, initial_state=H0, dtype="float64", return_state=True)
    assert np.all(out[0] == 0) and np.allclose(state[0], H0[0])
    assert np.allclose(out[1], state[1])
    ours = refgru.gru(X, W, mask=mask, initial_state=H0, return_state=True, keras_version=version)
    assert_close("refgru", ours, [out, state] if version == 2 else (out, state))


@pytest.mark.parametrize("version", VERSIONS)
def test_zero_output_for_mask(keras_gru, version):
    """Masked steps output zeros; with return_sequences=False a masked last step gives 0 while the state is carried."""
    mask = np.array([[True, False, True, True, False], [True] * 5])
    seq = keras_gru(version, W, X, mask=mask, dtype="float64", return_sequences=True, zero_output_for_mask=True)
    assert np.all(seq[0, 1] == 0) and np.all(seq[0, 4] == 0)
    out, state = keras_gru(version, W, X, mask=mask, dtype="float64", return_state=True, zero_output_for_mask=True)
    assert np.all(out[0] == 0) and np.abs(state[0]).max() > 0
    ours = refgru.gru(X, W, mask=mask, return_sequences=True, zero_output_for_mask=True, keras_version=version)
    assert_close("refgru seq", ours, seq)


@pytest.mark.parametrize("version", VERSIONS)
def test_go_backwards_outputs_in_processing_order(keras_gru, version):
    """out[:, t] belongs to input step T-1-t (not re-reversed); the final state is the one after x[:, 0]."""
    back = keras_gru(version, W, X, dtype="float64", return_sequences=True, go_backwards=True)
    fwd_on_reversed = keras_gru(version, W, X[:, ::-1].copy(), dtype="float64", return_sequences=True)
    np.testing.assert_allclose(back, fwd_on_reversed, atol=1e-12)
    assert_close("refgru", refgru.gru(X, W, return_sequences=True, go_backwards=True), back)


@pytest.mark.parametrize("version,container", [(3, tuple), (2, list)])
def test_return_state_container(keras_gru, version, container):
    result = keras_gru(version, W, X, dtype="float64", return_state=True)
    assert type(result) is container
    assert type(refgru.gru(X, W, return_state=True, keras_version=version)) is container


@pytest.mark.parametrize("version", VERSIONS)
def test_float64_layers_compute_in_float64(keras_gru, version):
    out = keras_gru(version, W, X, dtype="float64")
    assert out.dtype == np.float64
    assert np.abs(refgru.gru(X, W, keras_version=version) - out).max() <= 2e-15


@pytest.mark.parametrize("version", VERSIONS)
def test_initial_state_as_one_element_list(keras_gru, version):
    expected = keras_gru(version, W, X, initial_state=H0, dtype="float64")
    assert_close("list", refgru.gru(X, W, initial_state=[H0], keras_version=version), expected)
    assert_close("array", refgru.gru(X, W, initial_state=H0, keras_version=version), expected)


def test_hard_sigmoid_gru_outputs_differ_between_versions(keras_gru):
    """With hard_sigmoid gates the two Keras versions give different GRU outputs (> 1e-2 at moderate weights)."""
    w = random_weights(np.random.default_rng(2), 2, 3, dtype="float64", scale=2.0)
    x = np.random.default_rng(3).normal(size=(2, 5, 2)) * 2
    k3 = keras_gru(3, w, x, dtype="float64", recurrent_activation="hard_sigmoid", activation="hard_sigmoid")
    k2 = keras_gru(2, w, x, dtype="float64", recurrent_activation="hard_sigmoid", activation="hard_sigmoid")
    assert np.abs(k3 - k2).max() > 1e-2
    hard = dict(recurrent_activation="hard_sigmoid", activation="hard_sigmoid")
    assert_close("K3", refgru.gru(x, w, keras_version=3, **hard), k3)
    assert_close("K2", refgru.gru(x, w, keras_version=2, **hard), k2)
