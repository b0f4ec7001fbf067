"""``predict`` as a server calls it: every stateful recurrent layer is seen, and one batch is returned as is.

Ground truth is Keras 3 and tf-keras: a model saved by each, with a stateful ``LSTM`` (no GRU), predicted
twice in a row (the state carries over, as in Keras), and an identity model whose output must not be the
caller's input array.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

import refgru
from refgru import RefgruError

ROWS = 300  # more than streaming.PROBE_ROWS, so a stateless model would be measured and cut into batches


def _lib(version: int):
    return pytest.importorskip("keras" if version == 3 else "tf_keras")


def _set_random_weights(model, rng) -> None:
    for layer in model.layers:
        layer.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in layer.get_weights()])


@pytest.mark.parametrize("version", [3, 2])
def test_stateful_lstm_model_predicts_in_one_batch_and_carries_state_as_keras(tmp_path, version):
    lib = _lib(version)
    rng = np.random.default_rng(7)
    layers = lib.layers
    if version == 3:
        keras_model = lib.Sequential([lib.Input(batch_shape=(ROWS, 4, 3)), layers.LSTM(5, stateful=True)])
    else:
        keras_model = lib.Sequential([layers.LSTM(5, stateful=True, batch_input_shape=(ROWS, 4, 3))])
    _set_random_weights(keras_model, rng)  # non-zero random biases too
    path = tmp_path / ("m.keras" if version == 3 else "m.h5")
    keras_model.save(path)
    x1, x2 = (rng.normal(size=(ROWS, 4, 3)).astype(np.float32) for _ in range(2))
    expect = [np.asarray(keras_model.predict(x, batch_size=ROWS, verbose=0)) for x in (x1, x2)]

    model = refgru.load_model(path)
    assert model.stateful  # an LSTM: gru_layers() lists none, yet the model carries state
    got = [model.predict(x1), model.predict(x2)]  # batch_size=None: all rows in one batch, nothing probed
    for g, e in zip(got, expect, strict=True):
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-5)
    from_zero = refgru.load_model(path).predict(x2)
    assert np.abs(expect[1] - from_zero).max() > 1e-3  # the carried state changed the second call
    with pytest.raises(RefgruError, match="^model: expected a stateless model under Dask"):
        refgru.streaming.predict_dask(model, None)


def test_stateless_model_is_not_stateful(tmp_path):
    lib = _lib(3)
    keras_model = lib.Sequential([lib.Input((4, 3)), lib.layers.GRU(5), lib.layers.Dense(2)])
    _set_random_weights(keras_model, np.random.default_rng(1))
    keras_model.save(tmp_path / "m.keras")
    assert refgru.load_model(tmp_path / "m.keras").stateful is False


@pytest.mark.parametrize("version", [3, 2])
def test_one_batch_result_does_not_alias_the_input(tmp_path, version):
    lib = _lib(version)
    if version == 3:
        keras_model = lib.Sequential([lib.Input((4, 3)), lib.layers.Dropout(0.5)])
    else:
        keras_model = lib.Sequential([lib.layers.Dropout(0.5, input_shape=(4, 3))])
    path = tmp_path / ("m.keras" if version == 3 else "m.h5")
    keras_model.save(path)
    x = np.random.default_rng(2).normal(size=(6, 4, 3)).astype(np.float32)
    expect = np.asarray(keras_model.predict(x, verbose=0))
    got = refgru.load_model(path).predict(x)
    assert np.array_equal(got, expect) and not np.shares_memory(got, x)
    got[...] = 0  # the caller may write into the result: x must not change
    assert np.array_equal(x, expect)
