"""Run real Keras GRU layers: Keras 3 (``keras``) and Keras 2 (``tf_keras``). The ground truth."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf_keras = pytest.importorskip("tf_keras")
tf = pytest.importorskip("tensorflow")

LIBS = {3: keras, 2: tf_keras}


def keras_layer(version: int, kind: str, weights, x, *, mask=None, initial_state=None, dtype="float32", **config):
    """Build ``<kind>(units, **config)`` (``"GRU"``, ``"LSTM"``, ``"SimpleRNN"``) in Keras ``version``, set
    ``weights``, and call it on ``x`` with ``initial_state`` (a list, one array per state) and ``mask``.

    ``config`` holds the layer's constructor arguments (return_sequences, activation, ...); ``use_bias``
    and ``units`` are taken from ``weights``. Returns NumPy arrays in Keras's structure.
    """
    units = weights[1].shape[0]
    layer = getattr(LIBS[version].layers, kind)(units, use_bias=len(weights) == 3, dtype=dtype, **config)
    layer.build((None,) + tuple(x.shape[1:]))
    layer.set_weights(weights)
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = tf.convert_to_tensor(mask)
    if initial_state is not None:
        kwargs["initial_state"] = [tf.convert_to_tensor(s) for s in initial_state]
    result = layer(tf.convert_to_tensor(x), **kwargs)
    if isinstance(result, (list, tuple)):
        return type(result)(np.asarray(r) for r in result)
    return np.asarray(result)


def keras_gru(version: int, weights, x, *, mask=None, initial_state=None, dtype="float32", **config):
    """:func:`keras_layer` for a ``GRU``: ``initial_state`` is its one ``(B, u)`` array (or ``None``)."""
    return keras_layer(version, "GRU", weights, x, mask=mask, dtype=dtype, **config,
                       initial_state=None if initial_state is None else [initial_state])
