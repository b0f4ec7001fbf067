"""The declared input shape is enforced exactly where Keras enforces it, pinned against both Keras versions.

Measured (keras 3.15, tf-keras 2.21): a Keras 3 ``Sequential`` model computes on another sequence
length; a Keras 3 functional model refuses it at its input; tf-keras refuses it in both kinds. A
``None`` axis takes any length, and both accept one trailing axis of size 1 more or fewer.
"""

from __future__ import annotations

import numpy as np
import pytest

import refgru
from refgru import RefgruError

RNG = np.random.default_rng(21)


def build(lib, kind: str, shape: tuple, head: str):
    if kind == "Sequential":
        layers = [lib.Input(shape), lib.layers.GRU(2, bias_initializer="random_normal")]
        return lib.Sequential(layers if head == "gru" else [lib.Input(shape), lib.layers.Flatten(),
                                                              lib.layers.Dense(2, bias_initializer="random_normal")])
    x = lib.Input(shape)
    y = lib.layers.GRU(2, bias_initializer="random_normal")(x) if head == "gru" else \
        lib.layers.Dense(2, bias_initializer="random_normal")(lib.layers.Flatten()(x))
    return lib.Model(x, y)


def outcome(model, x):
    try:
        return np.asarray(model.predict(x, verbose=0))
    except (ValueError, RefgruError) as exc:
        return type(exc).__name__


CASES = [  # (kind, declared shape, layers, input row shape)
    ("Sequential", (4, 3), "gru", (7, 3)),
    ("Functional", (4, 3), "gru", (7, 3)),
    ("Functional", (None, 3), "gru", (7, 3)),
    ("Functional", (3, 1), "dense", (3,)),      # one trailing axis of 1 fewer
    ("Sequential", (3, 1), "dense", (3,)),
]


@pytest.mark.parametrize("version", [3, 2])
def test_declared_length_enforced_as_keras_does(version, tmp_path):
    from keras_ref import LIBS

    lib = LIBS[version]
    seen = []
    for i, (kind, shape, head, given) in enumerate(CASES):
        model = build(lib, kind, shape, head)
        path = tmp_path / (f"m{i}.keras" if version == 3 else f"m{i}.h5")
        model.save(path)
        ours = refgru.load_model(path)
        assert ours.kind == kind and ours.keras_version == version
        x = RNG.normal(size=(2, *given)).astype("float32")
        theirs = outcome(model, x)
        got = outcome(ours, x)
        if isinstance(theirs, str):
            assert got == "RefgruError", (kind, shape, given, got)
            with pytest.raises(RefgruError, match=rf"expected shape \(batch, {shape[0]}, {shape[1]}\), as the "
                               "model's input declares"):
                ours.predict(x)
        else:
            assert not isinstance(got, str) and np.allclose(got, theirs, rtol=0, atol=1e-5), (kind, shape, given)
        seen.append(isinstance(theirs, str))
    # what Keras itself did, so that a Keras change shows here: refused?
    assert seen == ([False, True, False, False, False] if version == 3 else [True, True, False, False, False])
