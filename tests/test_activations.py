"""Each activation against keras.activations (Keras 3) and tf_keras.activations (Keras 2), value by value."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ACTIVATION_NAMES, assert_close

import refgru

pytest.importorskip("keras_ref")  # every test in this module runs Keras: without it the module skips

POINTS = [-30.0, -3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0, 30.0, 0.5, -0.5]
GRID = np.concatenate([np.linspace(-6, 6, 49), POINTS]).reshape(3, -1)
CASES = [(v, name) for v in (3, 2) for name in ACTIVATION_NAMES[v]]


def keras_activation(keras_ref, version: int, name: str, x: np.ndarray) -> np.ndarray:
    return np.asarray(keras_ref.LIBS[version].activations.get(name)(keras_ref.tf.constant(x)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("version,name", CASES, ids=[f"keras{v}-{n}" for v, n in CASES])
def test_activation_matches_keras(keras_ref, version, name, dtype):
    x = GRID.astype(dtype)
    assert_close(f"Keras {version} {name}", refgru.get_activation(name, version)(x),
                 keras_activation(keras_ref, version, name, x))


@pytest.mark.parametrize("version,at_minus2,at_plus2,saturates", [(3, 1 / 6, 5 / 6, 3.0), (2, 0.1, 0.9, 2.5)])
def test_hard_sigmoid_differs_between_versions(keras_ref, version, at_minus2, at_plus2, saturates):
    """Keras 3: relu6(x + 3) / 6, saturating at ±3. tf-keras: clip(0.2x + 0.5, 0, 1), saturating at ±2.5."""
    x = np.array([-2.0, 2.0, -saturates, saturates, -saturates + 0.01])
    expected = keras_activation(keras_ref, version, "hard_sigmoid", x)
    np.testing.assert_allclose(expected[:4], [at_minus2, at_plus2, 0.0, 1.0], atol=1e-12)
    assert expected[4] > 0
    assert_close(f"hard_sigmoid Keras {version}", refgru.get_activation("hard_sigmoid", version)(x), expected)


def test_silu_matches_keras_swish(keras_ref):
    for version in (3, 2):
        expected = keras_activation(keras_ref, version, "swish", GRID)
        assert_close("silu", refgru.get_activation("silu", version)(GRID), expected)

